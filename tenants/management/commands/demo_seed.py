"""Demo data for `make dev`: a platform admin; the demo shop `demo` (profile filled in, a catalog
of categories and products with options and pictures), its owner and a trial; a second shop of
the owner that is suspended ("shop closed"); an agency account running a client shop (agency
access, shop switcher).

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
from distribution.demo import distribution_demo_seed
from infra.db import tenant_schema
from shop.catalog.demo import catalog_demo_seed
from shop.orders.demo import orders_demo_seed
from tenants.models import Account, Agency, Membership, Role, Tenant
from tenants.services.agencies import agency_client_shop_create, agency_create
from tenants.services.audit import AuditContext, audit_record
from tenants.services.provisioning import tenant_provision, with_spare_schema
from tenants.services.signup import tenant_create_for_account
from tenants.services.tenancy import tenant_profile_update, tenant_suspend
from themes.storefront.demo import storefront_demo_seed

DEMO_SLUG = "demo"
DEMO_SHOP_NAME = "Demo Shop"
ADMIN_EMAIL = "admin@example.com"
OWNER_EMAIL = "owner@example.com"
AGENCY_EMAIL = "agency@example.com"
AGENCY_NAME = "Demo Agency 演示代运营"
CLOSED_SLUG = "demo-closed"
CLIENT_SLUG = "demo-client"
DEMO_DESCRIPTION = "欢迎光临演示商店。Welcome to the demo shop of the platform."


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
        if not (tenant.onboarding or {}).get("shop_profile"):
            tenant_profile_update(
                tenant=tenant,
                name=tenant.name,
                description=DEMO_DESCRIPTION,
                contact_email=OWNER_EMAIL,
                contact_phone="+86 21 5555 0100",
                context=context.with_actor(owner),
            )
        with tenant_schema(tenant):
            created = catalog_demo_seed()
            orders = orders_demo_seed()
            commissions = distribution_demo_seed()
            designed = storefront_demo_seed()
        if created:
            self.stdout.write(f"created the demo catalog ({created} products)")
        if orders:
            self.stdout.write(f"created the demo members and orders ({orders} orders)")
        if commissions:
            self.stdout.write(f"created the demo distribution chain ({commissions} commissions)")
        if designed:
            self.stdout.write("designed the demo storefront's home page (theme: daily)")
        self._closed_shop(owner=owner, admin=admin, context=context)
        agency_account = self._account(
            credentials,
            key="agency",
            email=AGENCY_EMAIL,
            name="代运营 Agency Staff",
            is_platform_staff=False,
            is_superuser=False,
            context=context,
        )
        _credentials_save(path, credentials)
        self._agency_shop(account=agency_account, context=context.with_actor(agency_account))

        self.stdout.write(
            self.style.SUCCESS(
                f"demo data ready: admin {ADMIN_EMAIL} / {credentials['admin']['password']}, "
                f"owner {OWNER_EMAIL} / {credentials['owner']['password']}, "
                f"agency {AGENCY_EMAIL} / {credentials['agency']['password']}"
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

    def _closed_shop(self, *, owner: Account, admin: Account, context: AuditContext) -> None:
        """A second shop of the owner, suspended: its storefront shows "shop closed"."""
        if Tenant.objects.filter(slug=CLOSED_SLUG).exists():
            return
        tenant = tenant_create_for_account(
            account=owner,
            shop={
                "shop_name": "Closed Demo Shop 已关闭的演示店",
                "slug": CLOSED_SLUG,
                "currency": "USD",
                "language": "en",
                "time_zone": "America/New_York",
            },
            context=context.with_actor(owner),
        )
        tenant_suspend(
            tenant=tenant,
            reason="Demo: a shop suspended by the platform (for example after unpaid invoices).",
            context=context.with_actor(admin),
        )
        self.stdout.write(f"created the suspended demo shop {CLOSED_SLUG!r}")

    def _agency_shop(self, *, account: Account, context: AuditContext) -> None:
        """An agency with one client shop, reached by the agency's staff."""
        agency = Agency.objects.filter(name=AGENCY_NAME).first()
        if agency is None:
            agency = agency_create(name=AGENCY_NAME, owner=account, context=context)
            self.stdout.write(f"created the demo agency {AGENCY_NAME!r}")
        if Tenant.objects.filter(slug=CLIENT_SLUG).exists():
            return
        agency_client_shop_create(
            agency=agency,
            actor=account,
            shop={
                "shop_name": "Client Tea Shop 客户茶叶店",
                "slug": CLIENT_SLUG,
                "currency": "SGD",
                "language": "en",
                "time_zone": "Asia/Singapore",
            },
            context=context,
        )
        self.stdout.write(f"created the agency's client shop {CLIENT_SLUG!r}")
