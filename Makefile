# Two commands for a newcomer: `make dev` runs the platform with demo data on embedded defaults;
# `make test` runs every test and quality gate. Both build .venv first.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: dev test venv lint typecheck check-migrations translations system-deps clean-dev

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $(STAMP)

venv: $(STAMP)

translations: venv
	$(PY) -m infra.i18n_compile

dev: venv translations
	$(PY) -m infra.devdb

system-deps:
	bash infra/deploy/system-deps.sh

test: venv translations system-deps
	$(PY) -m infra.testrun

clean-dev:
	rm -rf .devdata
