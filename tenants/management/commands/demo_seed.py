"""Demo data for `make dev`: a platform admin, the demo shop `demo`, its owner and a trial.

Idempotent: a second run finds what the first made and changes nothing, except that it resets a
demo password that no longer matches the one recorded in the credentials file (so the printed
credentials always work). Passwords are random on the first run and kept in that file
(`.devdata/demo-credentials.json`, git-ignored).
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from billing.models import Subscription
from billing.services import subscription_start_trial
from tenants.models import Account, Membership, Role, Tenant
from tenants.services.audit import AuditContext, audit_record
from tenants.services.provisioning import tenant_provision, with_spare_schema

DEMO_SLUG = "demo"
DEMO_SHOP_NAME = "Demo Shop"
ADMIN_EMAIL = "admin@example.com"
OWNER_EMAIL = "owner@example.com"


def _credentials_load(path: Path) -> dict[str, dict[str, str]]:
    if not path.exists():
        return {}
    data: dict[str, dict[str, str]] = json.loads(path.read_text())
    return data


def _credentials_save(path: Path, credentials: dict[str, dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(credentials, indent=2) + "\n")
    path.chmod(0o600)


class Command(BaseCommand):
    help = "Create the demo data of `make dev` (platform admin, demo shop, owner); idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--credentials-file",
            default=str(settings.BASE_DIR / ".devdata" / "demo-credentials.json"),
            help="Where the demo passwords are kept between runs.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.IS_PRODUCTION:
            raise CommandError("demo_seed refuses to run with ENVIRONMENT=production")
        path = Path(options["credentials_file"])
        credentials = _credentials_load(path)
        context = AuditContext.system()

        admin = self._account(
            credentials,
            key="admin",
            email=ADMIN_EMAIL,
            name="Platform Admin",
            is_platform_staff=True,
            is_superuser=True,
            context=context,
        )
        owner = self._account(
            credentials,
            key="owner",
            email=OWNER_EMAIL,
            name="演示店主 Demo Owner",
            is_platform_staff=False,
            is_superuser=False,
            context=context,
        )
        _credentials_save(path, credentials)

        tenant = Tenant.objects.filter(slug=DEMO_SLUG).first()
        if tenant is None:
            tenant = with_spare_schema(
                lambda: tenant_provision(
                    slug=DEMO_SLUG,
                    name=DEMO_SHOP_NAME,
                    currency="CNY",
                    language="zh-hans",
                    time_zone="Asia/Shanghai",
                    context=context.with_actor(admin),
                )
            )
            self.stdout.write(f"created the demo shop {DEMO_SLUG!r} ({tenant.schema_name})")
        self._owner_membership(owner=owner, tenant=tenant, context=context.with_actor(admin))
        if not Subscription.objects.filter(tenant=tenant).exists():
            subscription_start_trial(tenant=tenant, context=context.with_actor(admin))
            self.stdout.write("started the demo shop's trial")

        self.stdout.write(
            self.style.SUCCESS(
                f"demo data ready: admin {ADMIN_EMAIL} / {credentials['admin']['password']}, "
                f"owner {OWNER_EMAIL} / {credentials['owner']['password']}"
            )
        )

    def _account(
        self,
        credentials: dict[str, dict[str, str]],
        *,
        key: str,
        email: str,
        name: str,
        is_platform_staff: bool,
        is_superuser: bool,
        context: AuditContext,
    ) -> Account:
        recorded = credentials.get(key)
        password = recorded["password"] if recorded else secrets.token_urlsafe(9)
        credentials[key] = {"email": email, "password": password}
        with transaction.atomic():
            account = Account.objects.filter(email=email).first()
            if account is None:
                account = Account.objects.create_user(
                    email,
                    password,
                    name=name,
                    is_platform_staff=is_platform_staff,
                    is_superuser=is_superuser,
                )
                audit_record(
                    context=context,
                    action="demo.account_created",
                    target=account,
                    data={"email": email, "platform_staff": is_platform_staff},
                )
                self.stdout.write(f"created the account {email}")
            elif not account.check_password(password):
                account.set_password(password)
                account.save(update_fields=["password"])
                audit_record(
                    context=context,
                    action="demo.password_reset",
                    target=account,
                    data={"email": email},
                )
                self.stdout.write(f"reset the password of {email} to the recorded one")
        return account

    def _owner_membership(self, *, owner: Account, tenant: Tenant, context: AuditContext) -> None:
        with transaction.atomic():
            membership, created = Membership.objects.get_or_create(
                account=owner, tenant=tenant, defaults={"role": Role.OWNER}
            )
            if created:
                audit_record(
                    context=context,
                    action="membership.created",
                    tenant=tenant,
                    target=membership,
                    data={"role": Role.OWNER},
                )
