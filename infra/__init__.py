"""Project-wide wiring: settings, URLs, Celery, database backend, storage and API conventions."""

from infra.celery import app as celery_app

__all__ = ["celery_app"]
