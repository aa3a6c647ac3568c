"""PostgreSQL backend: django-tenants' schema switching, issuing `SET search_path` at most once."""
