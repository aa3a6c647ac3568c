"""The transactional outbox: domain events recorded with the change, delivered by Celery."""
