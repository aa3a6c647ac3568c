"""WSGI entry point."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "infra.settings")
application = get_wsgi_application()

# Load the migration graph once per web process now, not on its first signup (provisioning
# compares spare schemas with it; reading the migration files takes ~50-100 ms).
from tenants.selectors.provisioning import migration_state_expected  # noqa: E402

migration_state_expected()
