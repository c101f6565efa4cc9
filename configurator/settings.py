"""Settings for Configurator, read from the environment (twelve-factor, django-environ).

The variable names are a contract with operators; see docs/deployment.md.
"""

from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import environ
from django.core.exceptions import ImproperlyConfigured

from configurator import paths

# Where the code is, and whether it is a source checkout or an installed copy (paths.py).
BASE_DIR = paths.BASE_DIR
SOURCE_CHECKOUT = paths.SOURCE_CHECKOUT

env = environ.Env()
# In a source checkout, a local .env (written by scripts/run on first start) fills in what the
# environment leaves out. An installed copy reads the environment only: a .env beside the code
# would sit in site-packages, and one in the working directory could belong to anything.
# The test suite sets IGNORE_LOCAL_ENV: what a developer's local server allows (metrics to this
# machine, DEBUG) must not change what the tests see.
if (
    SOURCE_CHECKOUT
    and paths.LOCAL_ENV_FILE.is_file()
    and not env.bool("IGNORE_LOCAL_ENV", default=False)
):
    env.read_env(paths.LOCAL_ENV_FILE, overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "configurator.apps.ConfiguratorAdminConfig",
    # Before django_tasks_db: its `db_worker` command is extended here (housekeeping jobs).
    "configurator",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "axes",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks",
    "django_tasks_db",
    # The audit trail's recording (configurator/audit.py); its entry model is configurator's.
    "auditlog",
    "queues",
    "conversations",
    "messaging",
    "integrations",
    # Configuration export and import between landscapes: reads and writes every app above
    # through their services; none imports it.
    "transfer",
    # The home page (the admin index's checklist, figures and charts): it reads every app above;
    # none imports it.
    "cockpit",
    # Last: it imports every app above to build demonstration data; none imports it.
    "demo",
]

MIDDLEWARE = [
    # First: a NUL in the address is a 400 before anything stores or looks it up (PostgreSQL
    # refuses such text).
    "configurator.middleware.RejectNulMiddleware",
    # Before the HTTPS redirect and the host check: probes and scrapers reach a pod by its
    # address over plain HTTP (docs/deployment.md, "Operations").
    "configurator.middleware.OperationsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before the CSRF check, which reads the body first: an admin form over Django's upload
    # bounds gets its page again with the reason, not a bare 400 (configurator/request_limits.py).
    "configurator.request_limits.RequestLimitsMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: the audit trail's entries name the request's user and channel.
    "configurator.audit.AuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "configurator.urls"
WSGI_APPLICATION = "configurator.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The project's admin templates, ahead of every app's (they override Django's admin).
        "DIRS": [BASE_DIR / "configurator" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# A checkout defaults to SQLite beside the code; an installed copy must be told where its
# database is (ImproperlyConfigured otherwise), never writing one into site-packages.
if SOURCE_CHECKOUT:
    DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
else:
    DATABASES = {"default": env.db("DATABASE_URL")}
# Persistent connections: opening one per request costs ~5x throughput on PostgreSQL.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
# A transaction-mode pooler (PgBouncer `pool_mode = transaction`) between the processes and
# PostgreSQL gives each transaction whichever server session is free, so nothing may outlive a
# transaction: no prepared statements (psycopg's, Django's default already; the webhook's own,
# see messaging/webhooks/storage.py) and no server-side cursors (WITH HOLD). docs/deployment.md.
DATABASE_POOLERS = ("", "pgbouncer")
DATABASE_POOLER = env.str("DATABASE_POOLER", default="").strip().lower()
if DATABASE_POOLER not in DATABASE_POOLERS:
    raise ImproperlyConfigured(
        f"DATABASE_POOLER must be empty (no pooler, or one in session mode) or 'pgbouncer' "
        f"(a transaction-mode pooler), not {DATABASE_POOLER!r}"
    )
if DATABASE_POOLER and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server and the worker read while one writes; IMMEDIATE takes the write
    # lock at BEGIN so two workers never claim the same callback.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# The admin's date formats: every moment shown says its time zone (configurator/times.py).
FORMAT_MODULE_PATH = ["configurator.formats"]

# Where the admin's links to the documentation lead: empty, the admin serves the checkout's own
# README.md and docs/*.md at /admin/docs/<name>/; set (an installed copy has no docs/), to
# <DOCS_BASE_URL>/docs/<name>.md, e.g. the repository's page of the version installed.
DOCS_BASE_URL = env.str("DOCS_BASE_URL", default="")
if DOCS_BASE_URL and not DOCS_BASE_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured("DOCS_BASE_URL must be an http(s) URL, or empty.")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Where collectstatic gathers the files that WhiteNoise serves: staticfiles/ of a checkout, or of
# the working directory of an installed copy (run collectstatic and gunicorn in the same one).
_static_root_default = (BASE_DIR if SOURCE_CHECKOUT else Path.cwd()) / "staticfiles"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(_static_root_default))).resolve()
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

# Security headers; production sets SECURE_SSL_REDIRECT=true behind TLS (docs/deployment.md).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_REDIRECT_EXEMPT = [r"^webhooks/"]
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
X_FRAME_OPTIONS = "DENY"

# Secrets at rest: comma-separated Fernet keys; the first encrypts, every one decrypts.
SECRETS_ENCRYPTION_KEYS = env.list("SECRETS_ENCRYPTION_KEYS", default=[])

# Password of the `admin` account that `manage.py run` creates on a fresh local install.
ADMIN_PASSWORD = env.str("ADMIN_PASSWORD", default="")

# Sinch webhooks.
SINCH_WEBHOOK_TOLERANCE = env.int("SINCH_WEBHOOK_TOLERANCE", default=300)
SINCH_WEBHOOK_MAX_BODY = 1024 * 1024
# Public address Sinch reaches this server at, for the webhook URL shown to administrators;
# empty means "the address of the request that shows it".
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="")

# Sinch Conversation API (replies). The OAuth2 token endpoint for client credentials, and an
# origin that replaces https://{region}.conversation.api.sinch.com of every service connection
# when set (tests point it at a local fake; an egress proxy could too).
SINCH_OAUTH_TOKEN_URL = env.str(
    "SINCH_OAUTH_TOKEN_URL", default="https://auth.sinch.com/oauth2/token"
)
SINCH_API_ORIGIN = env.str("SINCH_API_ORIGIN", default="")
# Seed 000: through a messaging service in the EU region, media to Messenger or WhatsApp that is
# not an image goes as a text message carrying its URL (conversations.gateways); false sends it
# as media anyway.
SINCH_EU_MEDIA_AS_TEXT = env.bool("SINCH_EU_MEDIA_AS_TEXT", default=True)

# Outbound integration calls: networks that may be called although not public (CIDR list), and
# a CA bundle to verify endpoints' certificates with (the system's when empty).
INTEGRATIONS_ALLOWED_NETWORKS = env.list("INTEGRATIONS_ALLOWED_NETWORKS", default=[])
INTEGRATIONS_CA_BUNDLE = env.str("INTEGRATIONS_CA_BUNDLE", default="")

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

REST_FRAMEWORK = {
    "DEFAULT_PARSER_CLASSES": [
        "configurator.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "configurator.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["configurator.permissions.StaffModelPermissions"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # DRF's, with a body over DATA_UPLOAD_MAX_MEMORY_SIZE / _NUMBER_FIELDS answered 413.
    "EXCEPTION_HANDLER": "configurator.request_limits.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Configurator API",
    "DESCRIPTION": "System Configurator for contact centers on the Sinch Conversation API.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI served from this server, not from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # The schema and its UI need a logged-in user unless API_DOCS_PUBLIC (see the security block).
    "SERVE_PERMISSIONS": ["configurator.permissions.ApiDocsPermission"],
    # Contact states are the words of lifecycle events: one enumeration in the schema.
    "ENUM_NAME_OVERRIDES": {
        "LifecycleEventEnum": "conversations.choices.Event",
        # The names these enums had before the create/update answers got schemas of their own
        # (configurator.save_warnings), which use them too.
        "QueueChannelTypeEnum": "queues.choices.QueueChannelType",
        "IntegrationChannelTypeEnum": "integrations.choices.IntegrationChannelType",
        "IntegrationDirectionEnum": "integrations.choices.IntegrationDirection",
        # A contact's, a test run's sample contact's, and the start of an outbound chat's.
        "ContactChannelTypeEnum": "conversations.choices.ChannelType",
        "ContactDirectionEnum": "conversations.choices.Direction",
    },
}

# Logs go to stderr, as plain text lines (LOG_FORMAT=text, the default) or as one JSON object per
# line (LOG_FORMAT=json, python-json-logger) for a log shipper. Either way every line logged while
# a callback is processed, a contact's lifecycle runs or an integration is called carries
# callback_id, contact_id and integration_id (configurator.logcontext; the handler's filter adds
# them, so library lines logged meanwhile have them too).
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be text or json, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {
            "()": "configurator.logcontext.TextFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
        "json": {"()": "configurator.logcontext.JsonLineFormatter"},
    },
    "filters": {"log_context": {"()": "configurator.logcontext.LogContextFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["log_context"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Work claimed by a worker (callbacks, deliveries) is taken over by any worker once its lease
# has run out; every worker sweeps for pending or expired work this often, and a worker not
# seen for WORKER_STALE_SECONDS is considered stopped (its task rows are finished); /health/ready
# fails while no worker at all has been seen for that long.
WORK_LEASE_SECONDS = env.int("WORK_LEASE_SECONDS", default=300)
WORK_SWEEP_SECONDS = env.int("WORK_SWEEP_SECONDS", default=30)
WORKER_STALE_SECONDS = env.int("WORKER_STALE_SECONDS", default=120)
# An outbound chat whose customer is not reached (no DELIVERED or READ report on its first
# message, no reply) within this many seconds is abandoned by the workers; 0 never abandons one.
OUTBOUND_CONNECT_TIMEOUT = env.int("OUTBOUND_CONNECT_TIMEOUT", default=900)
# Task loops per db_worker process: a worker mostly waits on endpoints, so a slow one should
# hold one loop, not the process.
WORKER_THREADS = env.int("WORKER_THREADS", default=4)

# Event-driven integrations: at most this many fire per conversation event, by ordinal (as Sinch).
INTEGRATIONS_MAX_PER_EVENT = env.int("INTEGRATIONS_MAX_PER_EVENT", default=3)
# Background deliveries: attempts in all (the first included), and the backoff between them
# (base·2^(n−1) seconds, half of it random, at most the cap; a Retry-After answer wins).
INTEGRATIONS_MAX_ATTEMPTS = env.int("INTEGRATIONS_MAX_ATTEMPTS", default=5)
INTEGRATIONS_RETRY_BASE_SECONDS = env.float("INTEGRATIONS_RETRY_BASE_SECONDS", default=10.0)
INTEGRATIONS_RETRY_MAX_SECONDS = env.float("INTEGRATIONS_RETRY_MAX_SECONDS", default=900.0)
# An integration whose deliveries failed finally this many times in a row is paused.
INTEGRATIONS_PAUSE_AFTER_FAILURES = env.int("INTEGRATIONS_PAUSE_AFTER_FAILURES", default=20)

# The largest body POST /api/v1/config/import/ reads (a configuration document with its options):
# a large landscape's export is several MiB, above DATA_UPLOAD_MAX_MEMORY_SIZE, which bounds every
# other request. Larger ones are answered 413; `manage.py config_import` reads any size.
CONFIG_IMPORT_MAX_BYTES = env.int("CONFIG_IMPORT_MAX_BYTES", default=32 * 1024 * 1024)

# Retention (docs/deployment.md, "Housekeeping"): days each kind of record is kept, 0 keeps it for
# ever. Failed callbacks and failed deliveries are kept for the longer of the first two, so that a
# person can still process or send them again; ended contacts' events count from the contact's end.
# Every worker prunes what is due every PRUNE_INTERVAL_SECONDS, in batches of PRUNE_BATCH_SIZE rows
# (one short transaction each), for at most PRUNE_RUN_SECONDS per run (and a quarter of
# WORKER_STALE_SECONDS: the heartbeat waits for it); `manage.py prune` too.
CALLBACKS_RETENTION_DAYS = env.int("CALLBACKS_RETENTION_DAYS", default=30)
DELIVERIES_RETENTION_DAYS = env.int("DELIVERIES_RETENTION_DAYS", default=30)
CONTACT_EVENTS_RETENTION_DAYS = env.int("CONTACT_EVENTS_RETENTION_DAYS", default=90)
TASK_RESULTS_RETENTION_DAYS = env.int("TASK_RESULTS_RETENTION_DAYS", default=7)
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=365)
PRUNE_INTERVAL_SECONDS = env.int("PRUNE_INTERVAL_SECONDS", default=3600)
PRUNE_BATCH_SIZE = env.int("PRUNE_BATCH_SIZE", default=1000)
PRUNE_RUN_SECONDS = env.int("PRUNE_RUN_SECONDS", default=20)

# The home page's charts read hourly counts that every worker keeps (cockpit.rollup): it counts
# the closed hours of the last day that are not final yet this often, and the counts are kept
# HOME_ROLLUP_RETENTION_DAYS (0 keeps them for ever). docs/admin-home.md.
HOME_ROLLUP_INTERVAL_SECONDS = env.int("HOME_ROLLUP_INTERVAL_SECONDS", default=300)
HOME_ROLLUP_RETENTION_DAYS = env.int("HOME_ROLLUP_RETENTION_DAYS", default=7)

# --- Security: API tokens, brute force, API docs (docs/deployment.md, "Security") -------------

# API tokens are django-rest-knox tokens: only a SHA-512 digest and a 15-character lookup prefix
# are stored; the key is shown once when it is created. They keep DRF's "Token" header prefix
# and, like DRF's tokens before them, do not expire unless given an expiry when created.
REST_KNOX = {"AUTH_HEADER_PREFIX": "Token", "TOKEN_TTL": None, "AUTO_REFRESH": False}

# How many proxies in front of the server append to X-Forwarded-For (0: REMOTE_ADDR is the client).
# Both the admin's login lockout and the API's failed-authentication limit count per client IP.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Failed admin logins (django-axes): after AXES_FAILURE_LIMIT failures from one client IP, logins
# from it are refused (429) for AXES_COOLOFF_MINUTES; a successful login resets the count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "configurator.authentication.client_ip"
# Its log lines (a warning per failed login) name the username and the client IP; axes would
# mask both by default, which leaves an operator nothing to act on. Passwords are always masked.
AXES_SENSITIVE_PARAMETERS: list[str] = []
# Its start-up banner on every command says nothing the settings do not.
cast(dict[str, Any], LOGGING["loggers"])["axes.apps"] = {"level": "WARNING"}

# Failed API token authentications per client IP: past API_AUTH_FAILURE_RATE (DRF's rate format,
# e.g. "10/minute") every token request from that IP answers 429 until the window has passed.
API_AUTH_FAILURE_RATE = env.str("API_AUTH_FAILURE_RATE", default="10/minute")

# The OpenAPI schema (/api/schema/) and Swagger UI (/api/docs/) need a logged-in user unless true.
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=False)

# --- Operations: health probes and Prometheus metrics (docs/deployment.md, "Operations") -------

# /metrics answers a scrape that shows METRICS_TOKEN as `Authorization: Bearer <token>`, or that
# comes from one of METRICS_ALLOWED_NETWORKS (CIDRs; the client address as TRUSTED_PROXY_COUNT
# makes it). Neither set (the default): every scrape is refused, so that no deployment publishes
# its figures by accident (a proxy on the same host makes every client look like 127.0.0.1).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=[])
# prometheus_client's multiprocess mode: every process of a host (gunicorn's workers, db_worker)
# writes its counters to files in this directory, and one scrape of any web process reads them
# all. Must be an environment variable (prometheus_client reads it when imported), the same for
# every process of the host, and emptied before they start; `manage.py run` sets it up itself.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")

# The audit trail (configurator/audit.py, docs/governance.md): django-auditlog writes the
# project's own entry model, with diffs as JSON and secret fields masked to "(secret)".
AUDITLOG_LOGENTRY_MODEL = "configurator.AuditEntry"
AUDITLOG_MASK_CALLABLE = "configurator.audit.mask_secret"
AUDITLOG_STORE_JSON_CHANGES = True
# django-auditlog's migrations create its own entry table even when the entry model is swapped
# for ours: unused, yet its foreign keys make PostgreSQL refuse to TRUNCATE the content types
# (`manage.py flush`, the tests' flushes). Without migrations the app gets tables only for the
# models in use, which is none.
MIGRATION_MODULES = {"auditlog": None}
