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

# Embedded PostgreSQL (data in .devdata/), migrations, demo data, web + Celery worker + beat.
# system-deps: the CJK fonts that posters are drawn with, and the consoles' vendored assets.
dev: venv translations system-deps
	$(PY) -m infra.devdb

# Debian packages (Chromium, CJK fonts, wrk, gettext) and npm packages; needs root for apt-get.
system-deps:
	bash infra/deploy/system-deps.sh

# Quality gates and the whole suite; embedded PostgreSQL/Redis unless DATABASE_URL/REDIS_URL.
test: venv translations system-deps
	$(PY) -m infra.testrun

# Single gates, for a quick look (mypy and makemigrations need a database URL, as `make dev`
# records in .devdata/database.url, or DATABASE_URL).
lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: venv
	$(PY) -m mypy .

check-migrations: venv
	$(PY) manage.py makemigrations --check --dry-run

# Forget the development database and demo data (stop `make dev` first).
clean-dev:
	@if [ -f .devdata/pg/postmaster.pid ]; then \
		echo "the embedded PostgreSQL is running: stop make dev first"; exit 1; fi
	rm -rf .devdata
