"""JoyCart settings: one module, driven by environment variables.

DEBUG is off unless `DJANGO_DEBUG=1` says otherwise, so a production process started
with an empty environment stops at once, naming the missing secret, instead of serving
debug pages signed with a published key. `make run`, `make test` and `manage.py runserver`
turn DEBUG on, and with it the embedded setup: SQLite, local-memory cache, console e-mail,
local media, the sandbox gateway. With DEBUG off every secret must come from the
environment, cookies are Secure, HTTPS is enforced.
The README documents every variable read here.
"""

import os
import sys
from datetime import timedelta
from email.utils import formataddr, getaddresses
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
import dj_email_url
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.csp import CSP

from joycart.logs import LOG_FORMATS, log_format_default, logging_config

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_required(name: str, *, dev_default: str) -> str:
    """Secrets have a development default only while DEBUG is on."""
    value = os.environ.get(name, "")
    if value:
        return value
    if DEBUG:
        return dev_default
    # One line naming the variable beats a traceback for an operator reading deploy logs.
    sys.exit(f"ImproperlyConfigured: set the {name} environment variable (required when DJANGO_DEBUG=0).")


DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_required(
    "DJANGO_SECRET_KEY", dev_default="django-insecure-joycart-development-only-key-never-use-in-production"
)
# Fernet keys for the values stored encrypted (a buyer's refund account): the first encrypts, all decrypt,
# so a new key goes first and an old one stays until nothing uses it. Unset: one key derived from SECRET_KEY.
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "joycart.apps.JoyCartAdminConfig",
    "joycart.apps.JoyCartConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "accounts",
    "catalog",
    "cart",
    "orders",
    "payments",
    "analytics",
    "reviews",
    "django_tasks_db",
]

MIDDLEWARE = [
    # First: the request id covers every layer below, and the one log line per request times them all.
    "joycart.request_log.RequestLogMiddleware",
    # A cached catalog response for a visitor who carries nothing personal is answered here, with the
    # headers the layers below would set (catalog/middleware.py); everything else goes on unchanged.
    "catalog.middleware.SharedResponseMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before anything reads the path, the query string or a cookie: a NUL in them is a 400.
    "joycart.middleware.RefuseNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.JWTCookieMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "joycart.urls"
WSGI_APPLICATION = "joycart.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cart.context_processors.cart_summary",
            ],
            # Money formatting ({{ amount|inr }}) is needed on nearly every page.
            "builtins": ["joycart.templatetags.money", "joycart.templatetags.csrf_slot"],
        },
    },
]

# --- Database -------------------------------------------------------------------------
# DATABASE_URL selects PostgreSQL in production; the default is a git-ignored SQLite file.
DATABASE_CONN_MAX_AGE = int(os.environ.get("DATABASE_CONN_MAX_AGE", "600"))
# Behind PgBouncer in transaction pooling, consecutive transactions of one connection may run on
# different server connections, so a server-side cursor (what `.iterator()` opens on PostgreSQL
# outside a transaction) could vanish between two fetches: rows are then fetched client-side.
DATABASE_TRANSACTION_POOLING = env_bool("DATABASE_TRANSACTION_POOLING", False)


def _database(url: str) -> dict:
    """One database's settings from its URL; the primary and every replica are opened alike."""
    database = dj_database_url.parse(url, conn_max_age=DATABASE_CONN_MAX_AGE, conn_health_checks=True)
    if database["ENGINE"] == "django.db.backends.sqlite3":
        # Persistent connections buy nothing on SQLite and keep files locked.
        database["CONN_MAX_AGE"] = 0
        database.setdefault("OPTIONS", {}).update({"timeout": 20})
    elif DATABASE_TRANSACTION_POOLING:
        database["DISABLE_SERVER_SIDE_CURSORS"] = True
        # No startup options here: PgBouncer refuses a connection whose `options` set a parameter it does not
        # track (or drops them, with `options` in ignore_startup_parameters). JIT is turned off on the role.
    elif database["ENGINE"] == "django.db.backends.postgresql":
        # PostgreSQL compiles a statement with LLVM (JIT) once its estimated cost passes jit_above_cost, which
        # a search over a large catalogue does: 50 to 100 ms of compiling per statement, for queries that run in
        # a few ms. The web's statements are short, so JIT is off on its connections. The URL's own `options`
        # come after, so `?options=-c%20jit%3Don` turns it back on.
        options = database.setdefault("OPTIONS", {})
        options["options"] = " ".join(filter(None, ["-c jit=off", options.get("options")]))
    return database


DATABASES = {"default": _database(os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# DATABASE_REPLICA_URLS, comma-separated, adds read replicas `replica_1`, `replica_2`, ...: the public
# catalog is read from them outside transactions (joycart/db_router.py says when exactly).
DATABASE_REPLICAS = []
for _number, _url in enumerate(env_list("DATABASE_REPLICA_URLS"), start=1):
    try:
        _replica = _database(_url)
    except ValueError:
        # Named by its place in the list, not shown: a database URL may hold a password.
        sys.exit(f"ImproperlyConfigured: DATABASE_REPLICA_URLS holds an invalid database URL (number {_number}).")
    if _replica["ENGINE"] != DATABASES["default"]["ENGINE"]:
        sys.exit("ImproperlyConfigured: DATABASE_REPLICA_URLS must name databases of the same kind as DATABASE_URL.")
    # Tests read the test database through the replica aliases, as production reads the primary's copy.
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES[f"replica_{_number}"] = _replica
    DATABASE_REPLICAS.append(f"replica_{_number}")
# How long after a client's unsafe request (POST, PUT, PATCH, DELETE) its reads stay on the primary.
DATABASE_REPLICA_STICKY_SECONDS = int(os.environ.get("DATABASE_REPLICA_STICKY_SECONDS", "5"))
if DATABASE_REPLICA_STICKY_SECONDS < 1:
    sys.exit("ImproperlyConfigured: DATABASE_REPLICA_STICKY_SECONDS must be a whole number of seconds, at least 1.")
if DATABASE_REPLICAS:
    DATABASE_ROUTERS = ["joycart.db_router.ReplicaRouter"]
    # Before anything reads the database; after the NUL check, which keeps a bad cookie from it.
    MIDDLEWARE.insert(
        MIDDLEWARE.index("joycart.middleware.RefuseNulMiddleware") + 1, "joycart.db_router.ReplicaReadsMiddleware"
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "joycart",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
    }
    # A dead or full Redis must not take pages down: cache calls log a warning and miss,
    # and every reader falls back to the database. django-redis treats a refused write
    # (maxmemory reached under noeviction: a ResponseError) like a lost connection here.
    DJANGO_REDIS_IGNORE_EXCEPTIONS = True
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "joycart"}}
# Each process's own copy of immutable catalog cache values (responses under versioned keys),
# used only in front of Redis: about 500 pages of ~25 KB at most per worker.
CACHES["local"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "joycart-local",
    "OPTIONS": {"MAX_ENTRIES": 500},
}
# Each process's copies of logged-in shoppers' listing pages (catalog.response_cache, per_user):
# at most 200 pages of ~25 KB per worker; a page whose shopper or catalog changed is never read again.
CACHES["personal"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "joycart-personal",
    "OPTIONS": {"MAX_ENTRIES": 200},
}

# --- Authentication -------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.UsernameOrEmailBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"

# Attempt limits (accounts/services/limits.py), counted in the cache before the work they guard.
# Failed logins, at the site, the API and the admin alike: per account (its username and its
# e-mail address share one budget) and per client address.
LOGIN_FAILURE_WINDOW_SECONDS = 10 * 60
LOGIN_FAILURES_PER_ACCOUNT = 5
LOGIN_FAILURES_PER_IP = 20
# Sign-up attempts per client address, the register page and the API together.
REGISTRATIONS_PER_IP_PER_HOUR = 20
# Password-reset requests per client address (answered 429), and reset mails per e-mail
# address (beyond it the page still says "sent", so it never tells which addresses have accounts).
PASSWORD_RESET_REQUESTS_PER_IP_PER_HOUR = 10
PASSWORD_RESET_MAILS_PER_EMAIL_PER_HOUR = 3

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=10),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=7),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "SIGNING_KEY": SECRET_KEY,
    "USER_AUTHENTICATION_RULE": "accounts.auth.user_may_authenticate",
    # A password change invalidates every token issued before it.
    "CHECK_REVOKE_TOKEN": True,
}
# Names and flags of the two JWT cookies; see accounts/auth.py.
JWT_ACCESS_COOKIE = "jc_access"
JWT_REFRESH_COOKIE = "jc_refresh"

SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# --- REST framework -------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.auth.JWTCookieAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.IsActiveUser"],
    # DRF's JSON parser, refusing a NUL anywhere in the body (joycart.text).
    "DEFAULT_PARSER_CLASSES": ["joycart.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "joycart.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "joycart.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "joycart.errors.api_exception_handler",
    "NUM_PROXIES": int(os.environ.get("DJANGO_NUM_PROXIES", "0")),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "JoyCart API",
    "DESCRIPTION": "The JoyCart shop API. Browsers authenticate with HttpOnly JWT cookies and send "
    "the CSRF token on unsafe requests; other clients use `Authorization: Bearer <access token>` "
    "from `/api/v1/auth/token/`.",
    "VERSION": "1.0.0",
    # Ids in paths (`<id:…>`, joycart.ids.IdPathConverter) are integers, as `<int:…>` would say.
    "PATH_CONVERTER_OVERRIDES": {"id": int},
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI is served from our own static files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Razorpay's webhook is a plain Django view (payments/api.py says why), described by hand.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "payments.api.webhook_schema_append",
        "joycart.openapi.links_add",
    ],
    # One named enum per choice set, whichever field uses it.
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.models.OrderStatus",
        "OrderItemStatusEnum": "orders.models.OrderItemStatus",
        "PaymentMethodEnum": "orders.models.PaymentMethod",
        "PaymentStatusEnum": "payments.models.PaymentStatus",
        "ActorRoleEnum": "orders.models.ActorRole",
        "ReturnReasonEnum": "orders.models.ReturnReason",
        "PayoutStatusEnum": "payments.models.PayoutStatus",
    },
}

# --- Internationalisation -------------------------------------------------------------
LANGUAGE_CODE = "en-in"
TIME_ZONE = "Asia/Kolkata"
USE_I18N = True
USE_TZ = True

# --- Static and media -----------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("DJANGO_MEDIA_ROOT", BASE_DIR / "media"))
# CLOUDINARY_URL (cloudinary://<api key>:<api secret>@<cloud name>) sends uploads to Cloudinary.
# The app goes after staticfiles: its own collectstatic reads a setting Django 6 removed.
CLOUDINARY_URL = os.environ.get("CLOUDINARY_URL", "")
if CLOUDINARY_URL:
    INSTALLED_APPS += ["cloudinary_storage", "cloudinary"]
# Production keeps uploads where every process and every machine sees them: Cloudinary. A folder
# is right only when one machine runs everything, so DEBUG off asks for it by name.
MEDIA_LOCAL = env_bool("DJANGO_MEDIA_LOCAL", False)
if not DEBUG and not CLOUDINARY_URL and not MEDIA_LOCAL:
    sys.exit(
        "ImproperlyConfigured: set the CLOUDINARY_URL environment variable for uploaded images (required when "
        "DJANGO_DEBUG=0), or DJANGO_MEDIA_LOCAL=1 to keep them in DJANGO_MEDIA_ROOT on this one machine."
    )
# Without Cloudinary the app itself serves MEDIA_ROOT under MEDIA_URL (joycart.views.media_file).
MEDIA_SERVED_BY_APP = not CLOUDINARY_URL
STORAGES = {
    "default": {
        "BACKEND": "cloudinary_storage.storage.MediaCloudinaryStorage"
        if CLOUDINARY_URL
        else "django.core.files.storage.FileSystemStorage"
    },
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Background tasks -----------------------------------------------------------------
# Django's task framework. Production queues tasks in the database (django-tasks-db), in the
# same transaction as the data they are about, and `manage.py db_worker` runs them. The
# embedded default and the tests run each task at once (after commit: joycart.tasks).
# DJANGO_TASKS_BACKEND=immediate|database overrides the choice.
TASKS_BACKEND = os.environ.get("DJANGO_TASKS_BACKEND", "immediate" if DEBUG else "database")
if TASKS_BACKEND not in ("immediate", "database"):
    sys.exit("ImproperlyConfigured: DJANGO_TASKS_BACKEND must be immediate or database.")
TASKS = {
    "default": {
        "BACKEND": "django.tasks.backends.immediate.ImmediateBackend"
        if TASKS_BACKEND == "immediate"
        else "django_tasks_db.DatabaseBackend"
    }
}

# --- E-mail ---------------------------------------------------------------------------
# EMAIL_URL (smtp://user:pass@host:587/?tls=True) configures SMTP. Without it, DEBUG prints
# e-mail to the console and production hands it to an MTA on localhost:25.
EMAIL_URL = os.environ.get("EMAIL_URL", "" if DEBUG else "smtp://localhost:25")
if EMAIL_URL:
    _email = dj_email_url.parse(EMAIL_URL)
    if not _email.get("EMAIL_BACKEND"):
        sys.exit("ImproperlyConfigured: EMAIL_URL has an unknown scheme; use smtp://, submission:// or smtps://.")
    MAILERS = {"default": {"BACKEND": _email["EMAIL_BACKEND"]}}
    # Only the SMTP backend takes connection options; console://, dummy:// and the like take none.
    if _email["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend":
        MAILERS["default"]["OPTIONS"] = {
            "host": _email["EMAIL_HOST"],
            "port": _email["EMAIL_PORT"],
            "username": _email["EMAIL_HOST_USER"],
            "password": _email["EMAIL_HOST_PASSWORD"],
            "use_tls": _email["EMAIL_USE_TLS"],
            "use_ssl": _email["EMAIL_USE_SSL"],
            "timeout": _email["EMAIL_TIMEOUT"] or 10,
        }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "JoyCart <no-reply@joycart.local>")
# Django's error mails to ADMINS come from SERVER_EMAIL; its default, root@localhost, is refused by most servers.
SERVER_EMAIL = DEFAULT_FROM_EMAIL


def _admins_parse(value: str) -> list[str]:
    """DJANGO_ADMINS as in an e-mail header, "Name <address>, address": one valid address each, or stop."""
    if not value.strip(" ,"):
        return []
    admins = []
    for name, address in getaddresses([value.strip(" ,")]):
        try:
            validate_email(address)
        except ValidationError:
            sys.exit(
                f"ImproperlyConfigured: DJANGO_ADMINS holds {(name or address)!r}, which is not an e-mail address; "
                'write "Name <address>, address".'
            )
        admins.append(formataddr((name, address)))
    return admins


# Who gets Django's mail about uncaught errors (with DEBUG off). Django 6 wants addresses, not
# (name, address) pairs; "Name <address>" keeps the name.
ADMINS = _admins_parse(os.environ.get("DJANGO_ADMINS", ""))
# Who is told when money needs a person (a refund the gateway failed): JOYCART_STAFF_EMAILS,
# comma-separated. Left empty, the mail goes to ADMINS, or else to every active superuser with an
# e-mail address, read when the mail is sent (accounts.selectors.staff_alert_emails).
JOYCART_STAFF_EMAILS = env_list("JOYCART_STAFF_EMAILS")
for _address in JOYCART_STAFF_EMAILS:
    try:
        validate_email(_address)
    except ValidationError:
        sys.exit(f"ImproperlyConfigured: JOYCART_STAFF_EMAILS holds {_address!r}, which is not an e-mail address.")


def _site_url_default() -> str:
    """The development server's address; in production, https:// and the first host ALLOWED_HOSTS names."""
    if DEBUG:
        return "http://127.0.0.1:8000"
    hosts = [host.lstrip(".") for host in ALLOWED_HOSTS if host.lstrip(".") and "*" not in host]
    return f"https://{hosts[0]}" if hosts else ""


# The site's own address, for links in mail sent by background tasks, which have no request to
# build them from. Empty (production with only wildcard hosts), the mail shows paths.
JOYCART_SITE_URL = (os.environ.get("JOYCART_SITE_URL") or _site_url_default()).rstrip("/")
_site = urlsplit(JOYCART_SITE_URL)
if JOYCART_SITE_URL and (_site.scheme not in ("http", "https") or not _site.netloc):
    sys.exit(
        "ImproperlyConfigured: JOYCART_SITE_URL must be an http:// or https:// address, e.g. https://shop.example.com."
    )

# --- Payments (Razorpay) --------------------------------------------------------------
# Real keys select the real gateway, and then all three must be set. Without keys the embedded
# default is the local sandbox gateway (payments/sandbox/, `manage.py run_sandbox_gateway`),
# whose fixed development credentials below only ever talk to that sandbox on 127.0.0.1.
# Production (DJANGO_DEBUG=0) refuses to fall back to it silently: it needs the keys, or an
# explicit PAYMENTS_SANDBOX=1 (benchmarks, demos).
SANDBOX_GATEWAY_PORT = int(os.environ.get("SANDBOX_GATEWAY_PORT", "8765"))
SANDBOX_RAZORPAY_CREDENTIALS = {
    "RAZORPAY_KEY_ID": "rzp_test_sandbox",
    "RAZORPAY_KEY_SECRET": "sandbox-key-secret",
    "RAZORPAY_WEBHOOK_SECRET": "sandbox-webhook-secret",
}
# Each read by its literal name, so tests/test_deploy_layout.py finds every variable read here.
_razorpay_env = {
    "RAZORPAY_KEY_ID": os.environ.get("RAZORPAY_KEY_ID", ""),
    "RAZORPAY_KEY_SECRET": os.environ.get("RAZORPAY_KEY_SECRET", ""),
    "RAZORPAY_WEBHOOK_SECRET": os.environ.get("RAZORPAY_WEBHOOK_SECRET", ""),
}
PAYMENTS_SANDBOX = env_bool("PAYMENTS_SANDBOX", not any(_razorpay_env.values()))
if PAYMENTS_SANDBOX and not DEBUG and not os.environ.get("PAYMENTS_SANDBOX"):
    sys.exit(
        "ImproperlyConfigured: set the RAZORPAY_KEY_ID environment variable (with RAZORPAY_KEY_SECRET and "
        "RAZORPAY_WEBHOOK_SECRET; required when DJANGO_DEBUG=0), or PAYMENTS_SANDBOX=1 for the sandbox gateway."
    )
_published_webhook_secret = SANDBOX_RAZORPAY_CREDENTIALS["RAZORPAY_WEBHOOK_SECRET"]
if PAYMENTS_SANDBOX and not DEBUG and _razorpay_env["RAZORPAY_WEBHOOK_SECRET"] in ("", _published_webhook_secret):
    # The sandbox's webhook secret is published in this repository: a public demo that accepted
    # it would accept a capture forged by anyone who read it.
    sys.exit(
        "ImproperlyConfigured: set the RAZORPAY_WEBHOOK_SECRET environment variable to a secret of your own "
        "(PAYMENTS_SANDBOX=1 with DJANGO_DEBUG=0 refuses the published sandbox one)."
    )
if PAYMENTS_SANDBOX:
    _razorpay = {name: _razorpay_env[name] or default for name, default in SANDBOX_RAZORPAY_CREDENTIALS.items()}
    RAZORPAY_BASE_URL = os.environ.get("RAZORPAY_BASE_URL", f"http://127.0.0.1:{SANDBOX_GATEWAY_PORT}")
else:
    for _name, _value in _razorpay_env.items():
        if not _value:
            sys.exit(
                f"ImproperlyConfigured: set the {_name} environment variable (the real Razorpay gateway needs it)."
            )
    _razorpay = _razorpay_env
    RAZORPAY_BASE_URL = os.environ.get("RAZORPAY_BASE_URL", "https://api.razorpay.com")
RAZORPAY_KEY_ID = _razorpay["RAZORPAY_KEY_ID"]
RAZORPAY_KEY_SECRET = _razorpay["RAZORPAY_KEY_SECRET"]
RAZORPAY_WEBHOOK_SECRET = _razorpay["RAZORPAY_WEBHOOK_SECRET"]
RAZORPAY_TIMEOUT_SECONDS = float(os.environ.get("RAZORPAY_TIMEOUT_SECONDS", "10"))
# How long an online order keeps its stock reserved while waiting for the payment; then
# `expire_unpaid_orders` (cron, or the worker's deferred task) cancels it.
ORDER_PAYMENT_TIMEOUT_MINUTES = int(os.environ.get("ORDER_PAYMENT_TIMEOUT_MINUTES", "15"))
if ORDER_PAYMENT_TIMEOUT_MINUTES < 1:
    sys.exit("ImproperlyConfigured: ORDER_PAYMENT_TIMEOUT_MINUTES must be a whole number of minutes, at least 1.")
# Before cancelling, the expiry asks Razorpay whether the order was paid (its webhook may be late). While Razorpay
# cannot be reached the order keeps waiting, but only until this long after checkout: then it is cancelled
# anyway, and a capture that still comes is refunded in full.
ORDER_PAYMENT_HARD_TIMEOUT_MINUTES = int(os.environ.get("ORDER_PAYMENT_HARD_TIMEOUT_MINUTES", "60"))
if ORDER_PAYMENT_HARD_TIMEOUT_MINUTES < ORDER_PAYMENT_TIMEOUT_MINUTES:
    sys.exit(
        "ImproperlyConfigured: ORDER_PAYMENT_HARD_TIMEOUT_MINUTES must be a whole number of minutes, at least "
        f"ORDER_PAYMENT_TIMEOUT_MINUTES ({ORDER_PAYMENT_TIMEOUT_MINUTES})."
    )
# Where the sandbox delivers its signed webhooks (the app's own endpoint under `make run`).
SANDBOX_WEBHOOK_URL = os.environ.get("SANDBOX_WEBHOOK_URL", "http://127.0.0.1:8000/api/v1/payments/razorpay/webhook/")
# How long reconciliation keeps reading an online payment from the gateway after its last change
# (captured, expired, refunded), at most every 15 minutes, for a capture whose webhook was lost.
RECONCILE_LOOKBACK_HOURS = int(os.environ.get("RECONCILE_LOOKBACK_HOURS", "48"))
if RECONCILE_LOOKBACK_HOURS < 1:
    sys.exit("ImproperlyConfigured: RECONCILE_LOOKBACK_HOURS must be a whole number of hours, at least 1.")
# A return request the seller leaves unanswered this many days is approved by `approve_stale_returns`.
RETURN_SELLER_SLA_DAYS = int(os.environ.get("RETURN_SELLER_SLA_DAYS", "2"))
if RETURN_SELLER_SLA_DAYS < 1:
    sys.exit("ImproperlyConfigured: RETURN_SELLER_SLA_DAYS must be a whole number of days, at least 1.")

# --- Production hardening -------------------------------------------------------------
if not DEBUG:
    # Deployed behind a TLS-terminating proxy (Render, Heroku, nginx) that sets X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # Load balancers and orchestrators probe over plain HTTP, from inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# Everything is served from our own origin: no CDN, no inline script or style. Pages that
# need more (the gateway's checkout script) widen it for themselves with csp_override.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", *(["https://res.cloudinary.com"] if CLOUDINARY_URL else [])],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}

# --- Error reporting ------------------------------------------------------------------
# SENTRY_DSN sends uncaught exceptions and ERROR logs, from the web processes, the worker and the
# cron commands alike, to Sentry. Without it sentry_sdk is not even initialised.
SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
if SENTRY_DSN:
    from joycart.error_reporting import sentry_start

    sentry_start(
        dsn=SENTRY_DSN,
        # Unset: sentry_sdk's own guess (RENDER_GIT_COMMIT, HEROKU_SLUG_COMMIT, the git head).
        release=os.environ.get("SENTRY_RELEASE") or None,
        environment=os.environ.get("SENTRY_ENVIRONMENT") or None,
        traces_sample_rate=os.environ.get("SENTRY_TRACES_SAMPLE_RATE", "0"),
    )

# bench/run.py turns on the trivial /ping view, to set JoyCart's middleware against bench/bare/.
BENCH_PING = env_bool("DJANGO_BENCH_PING", False)

# --- Logs and health ------------------------------------------------------------------
# Every line goes to stdout: JSON objects, one a line, by default in production (joycart/logs.py);
# readable text by default with DEBUG on. Each carries the request id (the client's X-Request-ID or
# a new one), which follows the request into the tasks it queues.
LOG_FORMAT = os.environ.get("DJANGO_LOG_FORMAT", "") or log_format_default(debug=DEBUG)
if LOG_FORMAT not in LOG_FORMATS:
    sys.exit("ImproperlyConfigured: DJANGO_LOG_FORMAT must be json or text.")
LOGGING = logging_config(log_format=LOG_FORMAT, level=os.environ.get("DJANGO_LOG_LEVEL", "INFO"))
# /readyz reports the task queue as degraded when its oldest waiting task has waited longer than this.
READYZ_QUEUE_MAX_AGE_SECONDS = int(os.environ.get("READYZ_QUEUE_MAX_AGE_SECONDS", "300"))
if READYZ_QUEUE_MAX_AGE_SECONDS < 1:
    sys.exit("ImproperlyConfigured: READYZ_QUEUE_MAX_AGE_SECONDS must be a whole number of seconds, at least 1.")
