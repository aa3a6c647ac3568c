"""Settings for every environment, chosen by environment variables (ENVIRONMENT and the rest).

ENVIRONMENT=development (the default) runs on embedded defaults started by `make dev`;
ENVIRONMENT=test is used by `make test`; ENVIRONMENT=production demands its secrets and hosts.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import django_stubs_ext
import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

# Generic classes such as ModelForm[Account] are subscriptable at run time, as the types say.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
DEVDATA_DIR = BASE_DIR / ".devdata"

env = environ.Env()

ENVIRONMENT = env.str("ENVIRONMENT", default="development")
if ENVIRONMENT not in {"development", "test", "production"}:
    raise ImproperlyConfigured(
        f"ENVIRONMENT must be development, test or production: {ENVIRONMENT}"
    )
IS_PRODUCTION = ENVIRONMENT == "production"
IS_TEST = ENVIRONMENT == "test"


def _required_in_production(name: str, default: str) -> str:
    """A variable production must set; other environments get a harmless default."""
    if IS_PRODUCTION:
        value = str(env.str(name, default=""))
        if not value:
            raise ImproperlyConfigured(f"{name} must be set when ENVIRONMENT=production")
        return value
    return str(env.str(name, default=default))


DEBUG = env.bool("DEBUG", default=ENVIRONMENT == "development")
SECRET_KEY = _required_in_production(
    "SECRET_KEY", "development-only-secret-key-which-is-long-enough-for-django-checks-0123456789"
)
if IS_PRODUCTION and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters in production")


def _derived_key(purpose: str) -> str:
    """A development key derived from SECRET_KEY (production sets its own keys)."""
    digest = hashlib.sha256(f"{purpose}:{SECRET_KEY}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


# Personal data at rest (infra.crypto): AES-256-GCM keys, base64url, the current one first; older
# keys stay listed until their values are re-encrypted. The blind-index key never rotates.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
BLIND_INDEX_KEY = env.str("BLIND_INDEX_KEY", default="")
if IS_PRODUCTION and not (FIELD_ENCRYPTION_KEYS and BLIND_INDEX_KEY):
    raise ImproperlyConfigured(
        "FIELD_ENCRYPTION_KEYS and BLIND_INDEX_KEY must be set when ENVIRONMENT=production"
    )
FIELD_ENCRYPTION_KEYS = FIELD_ENCRYPTION_KEYS or [_derived_key("field-encryption")]
BLIND_INDEX_KEY = BLIND_INDEX_KEY or _derived_key("blind-index")

# The platform host serves signup, consoles, the platform admin and platform APIs; every shop
# lives on <slug>.<PLATFORM_DOMAIN> or on a verified custom domain.
PLATFORM_DOMAIN = _required_in_production("PLATFORM_DOMAIN", "localhost").lower()
PLATFORM_SCHEME = env.str("PLATFORM_SCHEME", default="https" if IS_PRODUCTION else "http")
# A port to show in links (development serves on :8000); empty for the default port.
PLATFORM_PORT = env.str("PLATFORM_PORT", default="" if IS_PRODUCTION else "8000")
# Extra names that reach the platform site (for example 127.0.0.1 in development).
PLATFORM_EXTRA_HOSTS = env.list(
    "PLATFORM_EXTRA_HOSTS", default=[] if IS_PRODUCTION else ["127.0.0.1", "testserver"]
)
# Tenant routing (tenants.middleware) is the allow-list of hosts: it answers 404 to any host that
# is neither the platform nor a known shop, and custom domains are added by merchants at run time.
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["*"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Applications, by plane (ARCHITECTURE §1). Each project app declares its plane on its
# AppConfig; tests/test_planes.py checks that these lists and the declarations agree.
SHARED_APPS = [
    "django_tenants",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "rest_framework",
    "drf_spectacular",
    "django_htmx",
    "tenants",
    "billing",
    "themes.packages",
    "frontend",
]
TENANT_APPS = [
    "shop.core",
    "shop.events",
    "shop.catalog",
    "shop.customers",
    "shop.orders",
    "shop.payments",
    "distribution",
    "themes.storefront",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
# Issue `SET search_path` only when the schema changes, not before every cursor.
TENANT_LIMIT_SET_CALLS = True
PUBLIC_SCHEMA_NAME = "public"
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "tenants.middleware.TenantRoutingMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "tenants.middleware.ConsoleAccessMiddleware",
]

# The shop host's URLs; the platform host's come from PUBLIC_SCHEMA_URLCONF. The routing
# middleware sets request.urlconf on every request; `manage.py spectacular` documents the shop API.
ROOT_URLCONF = "infra.urls_tenant"
PUBLIC_SCHEMA_URLCONF = "infra.urls_public"
WSGI_APPLICATION = "infra.wsgi.application"
ASGI_APPLICATION = "infra.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "frontend" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "frontend.context_processors.platform",
            ],
        },
    },
]

# --- Database


def _database_url() -> str:
    url = str(env.str("DATABASE_URL", default=""))
    if url:
        return url
    # `make dev` starts an embedded PostgreSQL and records where it listens, so that other
    # commands (manage.py shell, a second terminal) find it too.
    recorded = DEVDATA_DIR / "database.url"
    if not IS_PRODUCTION and recorded.exists():
        return recorded.read_text().strip()
    if IS_PRODUCTION:
        raise ImproperlyConfigured("DATABASE_URL must be set when ENVIRONMENT=production")
    # Outside production, commands that need no database (makemigrations --check, check, the
    # type checker's settings import) still run; anything that connects fails with PostgreSQL's
    # own error. `make dev` and `make test` always provide a database.
    return "postgres://localhost:5432/platform_dev"


DATABASE_URL = _database_url()
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
# A Unix-socket URL in libpq's form (postgresql://user@/name?host=/socket/dir, as `make dev`
# writes it) carries the socket directory as an option; Django and the broker URL want HOST.
for _option in ("host", "port"):
    if not DATABASES["default"].get(_option.upper()) and _option in DATABASES["default"].get(
        "OPTIONS", {}
    ):
        DATABASES["default"][_option.upper()] = DATABASES["default"]["OPTIONS"].pop(_option)
DATABASES["default"]["ENGINE"] = "infra.db"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("TEST", {})
if env.str("TEST_DATABASE_NAME", default=""):
    DATABASES["default"]["TEST"]["NAME"] = env.str("TEST_DATABASE_NAME")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: Redis when REDIS_URL is set, otherwise the database (one cache for every process).
# Keys always carry the schema of the current tenant (ARCHITECTURE §1).
REDIS_URL = env.str("REDIS_URL", default="")
if IS_TEST and REDIS_URL and os.environ.get("PYTEST_XDIST_WORKER", "").startswith("gw"):
    # Parallel test workers each get a Redis database of their own, as they get a PostgreSQL one.
    _base, _slash, _number = REDIS_URL.rpartition("/")
    _worker = int(os.environ["PYTEST_XDIST_WORKER"][2:])
    REDIS_URL = f"{_base}/{(int(_number or 0) + 1 + _worker) % 16}"
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default="")
if REDIS_URL:
    CACHES: dict[str, dict[str, Any]] = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_FUNCTION": "django_tenants.cache.make_key",
            "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "platform_cache",
            "KEY_FUNCTION": "django_tenants.cache.make_key",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }
# Control-plane data read from any schema (tenant routing): the same store, keys not prefixed
# by the current schema, so a change made inside a shop's context invalidates them too.
CACHES["platform"] = {
    key: value
    for key, value in CACHES["default"].items()
    if key not in {"KEY_FUNCTION", "REVERSE_KEY_FUNCTION"}
}
CACHES["platform"]["KEY_PREFIX"] = "platform" + CACHES["default"].get("KEY_PREFIX", "")

# Custom domains are verified by a TXT record; empty = the system's resolvers ("host:port" list).
DNS_NAMESERVERS = env.list("DNS_NAMESERVERS", default=[])
DNS_TIMEOUT_S = env.float("DNS_TIMEOUT_S", default=3.0)

# --- WeChat (tenants.gateways.wechat): the API host (tests point it at tests/fakes/wechat.py) and
# our Open Platform third-party platform ("component"), which logs in members of the
# mini-programs authorized to it. Empty component settings: only merchants' own apps log in.
WECHAT_API_BASE_URL = env.str("WECHAT_API_BASE_URL", default="https://api.weixin.qq.com")
# The host of web authorization (Official Accounts' snsapi_base OAuth), which browsers visit.
WECHAT_OPEN_BASE_URL = env.str("WECHAT_OPEN_BASE_URL", default="https://open.weixin.qq.com")
WECHAT_COMPONENT_APPID = env.str("WECHAT_COMPONENT_APPID", default="")
WECHAT_COMPONENT_SECRET = env.str("WECHAT_COMPONENT_SECRET", default="")
WECHAT_COMPONENT_TOKEN = env.str("WECHAT_COMPONENT_TOKEN", default="")
WECHAT_COMPONENT_AES_KEY = env.str("WECHAT_COMPONENT_AES_KEY", default="")
WECHAT_TIMEOUT_S = env.float("WECHAT_TIMEOUT_S", default=5.0)

# --- Accounts and sessions
AUTH_USER_MODEL = "tenants.Account"
AUTHENTICATION_BACKENDS = ["tenants.auth_backends.EmailOrPhoneBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "console-home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if IS_TEST:
    # Hashing strength is not under test; speed is.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Login throttling: failed attempts allowed per account and per IP within the window.
LOGIN_MAX_FAILURES_PER_ACCOUNT = env.int("LOGIN_MAX_FAILURES_PER_ACCOUNT", default=5)
LOGIN_MAX_FAILURES_PER_IP = env.int("LOGIN_MAX_FAILURES_PER_IP", default=20)
LOGIN_FAILURE_WINDOW_S = env.int("LOGIN_FAILURE_WINDOW_S", default=15 * 60)
# Verification codes sent by SMS and e-mail.
VERIFICATION_CODE_TTL_S = 10 * 60
SESSION_COOKIE_AGE = 14 * 24 * 3600
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if IS_PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
if IS_TEST:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default=f"no-reply@{PLATFORM_DOMAIN}")
# SMS: "tencent" (Tencent Cloud SMS), "console" prints codes (development), "locmem" (tests).
SMS_BACKEND = env.str("SMS_BACKEND", default="locmem" if IS_TEST else "console")
TENCENT_SMS_ENDPOINT = env.str("TENCENT_SMS_ENDPOINT", default="https://sms.tencentcloudapi.com")
TENCENT_SMS_REGION = env.str("TENCENT_SMS_REGION", default="ap-guangzhou")
TENCENT_SMS_SECRET_ID = env.str("TENCENT_SMS_SECRET_ID", default="")
TENCENT_SMS_SECRET_KEY = env.str("TENCENT_SMS_SECRET_KEY", default="")
TENCENT_SMS_SDK_APP_ID = env.str("TENCENT_SMS_SDK_APP_ID", default="")
TENCENT_SMS_SIGN_NAME = env.str("TENCENT_SMS_SIGN_NAME", default="")
# Our template names -> the provider's approved template ids.
SMS_TEMPLATES = {
    "verification_code": env.str("SMS_TEMPLATE_VERIFICATION_CODE", default=""),
    "member_login_code": env.str("SMS_TEMPLATE_MEMBER_LOGIN_CODE", default=""),
}

# --- Internationalisation
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="zh-hans")
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
SHOP_CURRENCIES = ["CNY", "USD", "HKD", "SGD", "MYR", "THB", "VND", "IDR", "EUR", "GBP", "JPY"]
SHOP_LANGUAGES = ["zh-hans", "en", "vi", "th", "id", "ms"]

# --- Static files and media
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "frontend" / "static"]
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
MEDIA_URL = "/media/"
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default="") or None
AWS_S3_REGION_NAME = env.str("AWS_S3_REGION_NAME", default="") or None
AWS_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID", default="") or None
AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY", default="") or None
AWS_DEFAULT_ACL = None
# Presigned URLs with Signature Version 4 (version 2 is refused by newer regions).
AWS_S3_SIGNATURE_VERSION = env.str("AWS_S3_SIGNATURE_VERSION", default="s3v4")
AWS_QUERYSTRING_AUTH = True
STORAGES: dict[str, dict[str, Any]] = {
    # Files of a shop always live under its schema name (infra.storage).
    "default": {
        "BACKEND": "infra.storage.TenantS3Storage"
        if AWS_STORAGE_BUCKET_NAME
        else "infra.storage.TenantFileSystemStorage"
    },
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if IS_PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- REST APIs (ARCHITECTURE §3)
REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "infra.api.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "infra.api.pagination.PagePagination",
    "PAGE_SIZE": 20,
    "DEFAULT_THROTTLE_CLASSES": [
        "infra.api.throttling.TenantAnonRateThrottle",
        "infra.api.throttling.TenantUserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="600/min"),
        "user": env.str("THROTTLE_USER", default="1200/min"),
        "signup": env.str("THROTTLE_SIGNUP", default="30/hour"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Shop API",
    "DESCRIPTION": "The storefront API of one shop, served on the shop's own host.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # One name for the members' login channel, which several login endpoints share.
    "ENUM_NAME_OVERRIDES": {
        "MemberChannelEnum": "shop.customers.models.Channel",
        "OrderStatusEnum": "shop.orders.models.OrderStatus",
        "AfterSaleStatusEnum": "shop.orders.models.AfterSale.Status",
        "AfterSaleKindEnum": "shop.orders.models.AfterSale.Kind",
        "PaymentStatusEnum": "shop.payments.models.Payment.Status",
        "PaymentMethodEnum": "shop.payments.models.Payment.Method",
        "PaymentGatewayEnum": "shop.payments.models.Gateway",
        "WithdrawalChannelEnum": "distribution.models.settings.WithdrawalChannel",
        "WithdrawalStateEnum": "distribution.models.withdrawals.Withdrawal.State",
    },
}

# --- Celery (tenant-schemas-celery): Redis when REDIS_URL is set, otherwise kombu's SQLAlchemy
# transport on the development database, so `make dev` needs nothing else.
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
else:
    _db = DATABASES["default"]
    _password = quote(str(_db.get("PASSWORD") or ""), safe="")
    # Host and port as query options: that form takes a TCP host and a Unix-socket directory.
    _where = {option: _db[option.upper()] for option in ("host", "port") if _db.get(option.upper())}
    CELERY_BROKER_URL = "sqla+postgresql+psycopg2://{user}{password}@/{name}{query}".format(
        user=quote(str(_db.get("USER") or "postgres"), safe=""),
        password=f":{_password}" if _password else "",
        name=quote(str(_db["NAME"]), safe=""),
        query=f"?{urlencode(_where)}" if _where else "",
    )
    CELERY_RESULT_BACKEND = None
# An explicit broker wins (the HTTP benchmarks use "memory://": no worker consumes there).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=CELERY_BROKER_URL)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "spare-schema-pool-refill": {
        "task": "tenants.tasks.spare_pool_refill_task",
        "schedule": 60.0,
    },
    # Every shop delivers the domain events a lost task left behind (shop.events).
    "outbox-unsettled-deliver": {
        "task": "tenants.tasks.tenant_fanout_task",
        "args": ["shop.events.tasks.outbox_unsettled_deliver_task"],
        "schedule": 60.0,
    },
    "spare-schema-pool-prune": {
        "task": "tenants.tasks.spare_pool_prune_task",
        "schedule": crontab(minute=17),
    },
    # Orders (shop.orders): unpaid ones cancelled after the shop's timeout, shipped ones
    # received and received ones completed after the shop's number of days.
    "orders-unpaid-cancel": {
        "task": "tenants.tasks.tenant_fanout_task",
        "args": ["shop.orders.tasks.orders_unpaid_cancel_task"],
        "schedule": 60.0,
    },
    "orders-progress": {
        "task": "tenants.tasks.tenant_fanout_task",
        "args": ["shop.orders.tasks.orders_progress_task"],
        "schedule": 600.0,
    },
    # Payments (shop.payments): notifications left unprocessed, payments and refunds still
    # pending at the provider (the query fallback), and yesterday's bills.
    "payments-sweep": {
        "task": "tenants.tasks.tenant_fanout_task",
        "args": ["shop.payments.tasks.payments_sweep_task"],
        "schedule": 300.0,
    },
    "payments-reconcile": {
        "task": "tenants.tasks.tenant_fanout_task",
        "args": ["shop.payments.tasks.payments_reconcile_task"],
        "schedule": crontab(hour=3, minute=30),
    },
    # Distribution withdrawals: WeChat transfers in flight are asked about, unconfirmed ones
    # cancelled after 24 h (the money back), approved ones a lost task left transferred.
    "distribution-withdrawals-sweep": {
        "task": "tenants.tasks.tenant_fanout_task",
        "args": ["distribution.tasks.withdrawals_sweep_task"],
        "schedule": 600.0,
    },
    # Distribution grades: upgrades and retention downgrades of every distributor, nightly.
    "distribution-grades-nightly": {
        "task": "tenants.tasks.tenant_fanout_task",
        "args": ["distribution.tasks.grades_nightly_task"],
        "schedule": crontab(hour=2, minute=10),
    },
    # Distribution team bonus: the month that ended last in each shop's time zone, paid once
    # (hourly, so every time zone's month end is caught; a done month costs one query).
    "distribution-team-bonus-monthly": {
        "task": "tenants.tasks.tenant_fanout_task",
        "args": ["distribution.tasks.team_bonus_monthly_task"],
        "schedule": crontab(minute=25),
    },
    # Distribution settlement (distribution.services.settlement): shops without a settlement
    # day release frozen commissions hourly once their freeze days passed; shops with day N
    # release them on day N of their own calendar (00:20 UTC is on each local day once; the
    # task acts on day N only, once per month).
    "distribution-settlement-unfreeze": {
        "task": "tenants.tasks.tenant_fanout_task",
        "args": ["distribution.tasks.settlement_unfreeze_task"],
        "schedule": crontab(minute=5),
    },
    "distribution-settlement-periodic": {
        "task": "tenants.tasks.tenant_fanout_task",
        "args": ["distribution.tasks.settlement_periodic_task"],
        "schedule": crontab(hour=0, minute=20),
    },
    # Monthly statements per distributor: the month that ended last in each shop's time zone,
    # written once (hourly, so every time zone's 1st is caught; a done month costs one query).
    "distribution-statements-monthly": {
        "task": "tenants.tasks.tenant_fanout_task",
        "args": ["distribution.tasks.statements_monthly_task"],
        "schedule": crontab(minute=35),
    },
}

# --- Payments (shop.payments). Notifications older than this are refused (replays).
PAYMENT_NOTIFICATION_MAX_AGE_S = env.int("PAYMENT_NOTIFICATION_MAX_AGE_S", default=300)
# The sandbox gateway (a click confirms the payment) for demos; never in production.
SANDBOX_PAYMENTS = not IS_PRODUCTION and env.bool("SANDBOX_PAYMENTS", default=True)
# Stripe Connect (shop.payments.gateways.stripe, billing.services.connect): the platform's keys;
# shops are connected Express accounts. The Connect webhook endpoint (platform host,
# /webhooks/stripe/connect) listens to events on connected accounts: account.updated,
# account.application.deauthorized, payment_intent.succeeded / payment_failed / canceled,
# refund.created, refund.updated, refund.failed. Tests point the API at tests/fakes.
STRIPE_API_BASE_URL = env.str("STRIPE_API_BASE_URL", default="https://api.stripe.com")
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_CONNECT_WEBHOOK_SECRET = env.str("STRIPE_CONNECT_WEBHOOK_SECRET", default="")
# WeChat Pay API v3 in service-provider mode (shop.payments.gateways.wechatpay): the platform's
# sp_mchid and sp_appid, its API key pair and APIv3 key, and WeChat Pay's platform public key
# (public-key mode: nothing is downloaded at start). Each shop's sub_mchid is in the control
# plane (billing.MerchantPaymentAccount). Not demanded in production: without them no shop can
# use WeChat Pay. The API host is a setting so that tests reach tests/fakes/wechatpay.py.
WECHATPAY_API_BASE_URL = env.str("WECHATPAY_API_BASE_URL", default="https://api.mch.weixin.qq.com")
WECHATPAY_SP_MCHID = env.str("WECHATPAY_SP_MCHID", default="")
WECHATPAY_SP_APPID = env.str("WECHATPAY_SP_APPID", default="")
WECHATPAY_PRIVATE_KEY = env.str("WECHATPAY_PRIVATE_KEY", default="", multiline=True)
WECHATPAY_CERT_SERIAL_NO = env.str("WECHATPAY_CERT_SERIAL_NO", default="")
WECHATPAY_APIV3_KEY = env.str("WECHATPAY_APIV3_KEY", default="")
WECHATPAY_PUBLIC_KEY = env.str("WECHATPAY_PUBLIC_KEY", default="", multiline=True)
WECHATPAY_PUBLIC_KEY_ID = env.str("WECHATPAY_PUBLIC_KEY_ID", default="")
WECHATPAY_TIMEOUT_S = env.float("WECHATPAY_TIMEOUT_S", default=10.0)

# Storefront catalog reads are cached per shop and version (shop/catalog/api/caching.py); off only
# to measure the uncached path (tests/benchmarks/catalog_api.py).
CATALOG_READ_CACHE = env.bool("CATALOG_READ_CACHE", default=True)
# Whole storefront pages for visitors (themes/storefront/cache.py); off only to measure the
# uncached path (tests/benchmarks/storefront.py).
STOREFRONT_PAGE_CACHE = env.bool("STOREFRONT_PAGE_CACHE", default=True)

# --- Provisioning: pre-migrated spare schemas claimed by signup (tenants.services.provisioning).
SPARE_SCHEMA_POOL_SIZE = env.int("SPARE_SCHEMA_POOL_SIZE", default=10 if not IS_TEST else 3)

# --- Security
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
if IS_PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Outside production, static files are served from the app folders (no collectstatic needed).
WHITENOISE_USE_FINDERS = not IS_PRODUCTION
WHITENOISE_AUTOREFRESH = not IS_PRODUCTION
