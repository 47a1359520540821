"""Django settings for the Dental OS enterprise service.

Everything a deployment changes comes from the environment (see README,
"Configuration"); ``enterprise.config`` turns a wrong value into a start-up
error that names the variable.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from enterprise.config import database_from_url, env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

DEBUG = env_bool("DEBUG", False)

# Offline management commands (migrate, makemigrations, seed_demo, clear_cache...) sign
# nothing that outlives the process, so they may run without the secrets; serving
# (wsgi, runserver), `check` and `issue_token` may not. manage.py names the command.
_COMMAND = os.environ.get("ENTERPRISE_MANAGEMENT_COMMAND", "")
_NEEDS_SECRETS = DEBUG is False and (
    not _COMMAND or _COMMAND in {"runserver", "check", "issue_token", "shell"}
)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if _NEEDS_SECRETS:
        raise ImproperlyConfigured(
            "SECRET_KEY: required when DEBUG is off (set DEBUG=1 for development)"
        )
    # Development, or an offline command: an ephemeral key, never a fixed one.
    SECRET_KEY = "insecure-development-key-" + secrets.token_urlsafe(32)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
PORT = env_int("PORT", 3017, minimum=1, maximum=65535)

DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'enterprise.sqlite3'}"
DATABASES = {"default": database_from_url(DATABASE_URL, base_dir=BASE_DIR)}
IS_MONGODB = DATABASES["default"]["ENGINE"] == "django_mongodb_backend"

if IS_MONGODB:
    # MongoDB needs ObjectId primary keys on the contrib apps too: the backend's
    # app configs switch their auto field and our mongo_migrations hold theirs.
    _CONTRIB_APPS = [
        "enterprise.mongo_apps.MongoAdminConfig",
        "enterprise.mongo_apps.MongoAuthConfig",
        "enterprise.mongo_apps.MongoContentTypesConfig",
    ]
    MIGRATION_MODULES = {
        "admin": "mongo_migrations.admin",
        "auth": "mongo_migrations.auth",
        "contenttypes": "mongo_migrations.contenttypes",
    }
    DEFAULT_AUTO_FIELD = "django_mongodb_backend.fields.ObjectIdAutoField"
else:
    _CONTRIB_APPS = [
        "django.contrib.admin",
        "django.contrib.auth",
        "django.contrib.contenttypes",
    ]
    DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    *_CONTRIB_APPS,
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "enterprise",
    "organizations",
    "clinics",
    "providers",
    "assignments",
    "perfmon",
    "audit",
]

MIDDLEWARE = [
    # Request ids, ETag/304, gzip and Cache-Control for every response (outermost).
    "enterprise.api.http_middleware.HttpEfficiencyMiddleware",
    # Database round trips, slow queries and the N+1 guard per request (perfmon).
    "perfmon.middleware.PerfmonMiddleware",
    # Stores cacheable GET responses (and answers hits when no WSGI layer ran, e.g. the
    # test client). First, so the stored entry carries every header the stack adds.
    "enterprise.cache.middleware.ResponseCacheMiddleware",
    # Database circuit breaker: 503 + Retry-After while open (GETs get the stale copy above).
    "enterprise.resilience.database.DatabaseGuardMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "enterprise.api.middleware.RequestBodyLimitMiddleware",
    # Session, user and messages for the admin; skipped on the token-authenticated API.
    "enterprise.browser_middleware.BrowserSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "enterprise.browser_middleware.BrowserAuthenticationMiddleware",
    "enterprise.browser_middleware.BrowserMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "enterprise.urls"
WSGI_APPLICATION = "enterprise.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Project-wide overrides (admin/base_site.html: the link to the performance page).
        "DIRS": [BASE_DIR / "templates"],
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

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

# --- Cache ------------------------------------------------------------------
# Redis when REDIS_URL is set (shared by every worker and host); otherwise the
# response cache keeps entries per process and generations in files under var/
# (coherent across the workers of one host). Cache calls get short timeouts and
# no retries: a slow or dead Redis costs milliseconds, not a request.
REDIS_URL = env_str("REDIS_URL") or ""
if REDIS_URL:
    if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(
            "REDIS_URL: expected redis://host:port/db, rediss://... or unix://..."
        )
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "dos-django",
            "OPTIONS": {
                "SERIALIZER": "django_redis.serializers.msgpack.MSGPackSerializer",
                "COMPRESSOR": "django_redis.compressors.zlib.ZlibCompressor",
                "SOCKET_CONNECT_TIMEOUT": env_int("REDIS_CONNECT_TIMEOUT_MS", 200) / 1000,
                "SOCKET_TIMEOUT": env_int("REDIS_SOCKET_TIMEOUT_MS", 200) / 1000,
                "CONNECTION_POOL_KWARGS": {
                    "max_connections": env_int("REDIS_MAX_CONNECTIONS", 50, minimum=1),
                    # One immediate retry heals a pooled connection a Redis restart
                    # broke; more would multiply the socket timeout of a hung server.
                    "retry": Retry(NoBackoff(), 1),
                    "health_check_interval": 30,
                },
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

#: Reuse compiled SQL for repeated read shapes on SQL backends (enterprise.db.plans).
QUERY_PLANS = env_bool("QUERY_PLANS", True)
#: Build repeated filter clauses from the column and lookup an identical one resolved
#: (enterprise.db.filters; every backend).
FILTER_MEMORY = env_bool("FILTER_MEMORY", True)

RESPONSE_CACHE = {
    "ENABLED": env_bool("RESPONSE_CACHE", True),
    "TTL": {
        "organization_detail": env_int("CACHE_TTL_ORGANIZATION", 300),
        "clinic_detail": env_int("CACHE_TTL_CLINIC", 300),
        "provider_detail": env_int("CACHE_TTL_PROVIDER", 300),
        "assignments": env_int("CACHE_TTL_ASSIGNMENTS", 60),
        "list": env_int("CACHE_TTL_LIST", 30),
        "summary": env_int("CACHE_TTL_SUMMARY", 120),
    },
    "STALE_GRACE": env_int("CACHE_STALE_GRACE", 10),
    "SHADOW_TTL": env_int("CACHE_SHADOW_TTL", 86400, minimum=0),
}

# Request bodies: the API never needs more than a few KB per object. The limit
# is enforced before parsing (413 with the JSON error body).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MAX_BODY_BYTES", 64 * 1024, minimum=1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200

# Offset pages stop at MAX_OFFSET rows (deeper: follow cursors); estimated counts cap there.
PAGINATION = {
    "MAX_OFFSET": env_int("PAGINATION_MAX_OFFSET", 10_000, minimum=100),
    "COUNT_CAP": env_int("PAGINATION_COUNT_CAP", 10_000, minimum=100),
}

# perfmon (defaults and meaning in perfmon/conf.py).
PERFMON = {
    "QUERY_COUNT_HEADER": env_bool("PERFMON_QUERY_COUNT_HEADER", False),
    "SLOW_QUERY_MS": env_int("PERFMON_SLOW_QUERY_MS", 100, minimum=1),
    "N_PLUS_ONE": env_str("PERFMON_N_PLUS_ONE", "log" if DEBUG else "off"),
    "N_PLUS_ONE_THRESHOLD": env_int("PERFMON_N_PLUS_ONE_THRESHOLD", 5, minimum=1),
    "SINK": env_str("PERFMON_SINK", "auto"),
    "DIRECTORY": env_str("PERFMON_DIRECTORY", str(VAR_DIR / "perfmon")),
    "SUMMARY_LOG_SECONDS": env_int("PERFMON_SUMMARY_LOG_SECONDS", 60, minimum=0),
    "BUDGETS": {
        "default": env_int("PERFMON_BUDGET_MS", 200, minimum=1),
        "/api/v1/organizations/{id}/summary": env_int("PERFMON_BUDGET_REPORT_MS", 500, minimum=1),
    },
    "METRICS_TOKEN": env_str("METRICS_TOKEN") or "",
    "METRICS_NETWORKS": env_list("METRICS_NETWORKS", ["127.0.0.0/8", "::1/128"]),
}
if PERFMON["N_PLUS_ONE"] not in {"off", "log", "raise"}:
    raise ImproperlyConfigured("PERFMON_N_PLUS_ONE: expected off, log or raise")
if PERFMON["SINK"] not in {"auto", "redis", "files"}:
    raise ImproperlyConfigured("PERFMON_SINK: expected auto, redis or files")
if IS_MONGODB:
    # Round trips, time and slow commands per request (perfmon.db; MongoDB has no SQL cursor).
    from perfmon.mongo import CommandObserver

    DATABASES["default"]["OPTIONS"]["event_listeners"] = [CommandObserver()]

# Circuit breakers (enterprise/resilience/breakers.py). The database breaker's state is
# shared by every worker through Redis; the Redis breaker is per process (it guards Redis).
RESILIENCE = {
    # Pauses before retrying a read that found the database unreachable (seconds; empty: none).
    "READ_RETRY_DELAYS": [
        float(d) for d in env_list("DB_READ_RETRY_DELAYS", ["0.25", "0.5", "1.0", "2.0"]) if d
    ],
    # Seconds per endpoint class (enterprise/resilience/budgets.py); over budget -> 504.
    "BUDGETS": {
        "default": env_int("BUDGET_DEFAULT_SECONDS", 30, minimum=1),
        "search": env_int("BUDGET_SEARCH_SECONDS", 5, minimum=1),
        "report": env_int("BUDGET_REPORT_SECONDS", 120, minimum=1),
    },
    "BREAKERS": {
        "database": {
            "FAILURE_RATE": env_int("DB_BREAKER_FAILURE_PERCENT", 50, minimum=1, maximum=100) / 100,
            "MINIMUM_CALLS": env_int("DB_BREAKER_MINIMUM_CALLS", 10, minimum=1),
            "CONSECUTIVE_FAILURES": env_int("DB_BREAKER_CONSECUTIVE_FAILURES", 5, minimum=1),
            "WINDOW_SECONDS": env_int("DB_BREAKER_WINDOW_SECONDS", 10, minimum=1),
            "OPEN_SECONDS": env_int("DB_BREAKER_OPEN_SECONDS", 5, minimum=1),
            "PROBES": env_int("DB_BREAKER_PROBES", 3, minimum=1),
        },
        "redis": {
            # Opens on the first failure; probes again after RESPONSE_CACHE["ERROR_BACKOFF"].
            "CONSECUTIVE_FAILURES": 1,
            "PROBES": 1,
            "SYNC_SECONDS": 0,
        },
    },
}

if DATABASES["default"]["ENGINE"] == "enterprise.db.postgresql":
    # The default time budget, set once per connection; other classes SET it when needed.
    DATABASES["default"]["OPTIONS"].setdefault(
        "options", f"-c statement_timeout={RESILIENCE['BUDGETS']['default'] * 1000}"
    )
if IS_MONGODB:
    DATABASES["default"]["OPTIONS"].update(
        maxPoolSize=env_int("MONGODB_MAX_POOL_SIZE", 50, minimum=1),
        minPoolSize=env_int("MONGODB_MIN_POOL_SIZE", 5, minimum=0),
        maxIdleTimeMS=env_int("MONGODB_MAX_IDLE_TIME_MS", 300_000, minimum=0),
        serverSelectionTimeoutMS=env_int("MONGODB_SERVER_SELECTION_TIMEOUT_MS", 1000, minimum=1),
        connectTimeoutMS=env_int("MONGODB_CONNECT_TIMEOUT_MS", 1000, minimum=1),
    )

# Optimistic concurrency: when on, PUT/PATCH/DELETE without If-Match are refused (428).
REQUIRE_IF_MATCH = env_bool("REQUIRE_IF_MATCH", False)

# Idempotency-Key on POST (enterprise.api.idempotency): answers kept TTL seconds; a
# reservation left "processing" (crashed worker) is taken over after LOCK seconds.
IDEMPOTENCY = {
    "TTL_SECONDS": env_int("IDEMPOTENCY_KEY_TTL", 86_400, minimum=60),
    "LOCK_SECONDS": env_int("IDEMPOTENCY_LOCK_SECONDS", 60, minimum=1),
}

# --- Authentication -------------------------------------------------------
JWT_SECRET = env_str("JWT_SECRET") or ""
JWT_PUBLIC_KEY = env_str("JWT_PUBLIC_KEY") or ""
JWT_PUBLIC_KEY_FILE = env_str("JWT_PUBLIC_KEY_FILE") or ""
JWT_PRIVATE_KEY_FILE = env_str("JWT_PRIVATE_KEY_FILE") or ""
JWT_ISSUER = env_str("JWT_ISSUER") or ""
JWT_AUDIENCE = env_str("JWT_AUDIENCE") or ""
if not (JWT_SECRET or JWT_PUBLIC_KEY or JWT_PUBLIC_KEY_FILE):
    if _NEEDS_SECRETS:
        raise ImproperlyConfigured(
            "JWT_SECRET: required when DEBUG is off (or JWT_PUBLIC_KEY / JWT_PUBLIC_KEY_FILE for RS256/ES256)"
        )
    JWT_SECRET = "insecure-development-jwt-secret-0123456789abcdef"
if JWT_SECRET and len(JWT_SECRET) < 32:
    raise ImproperlyConfigured(
        "JWT_SECRET: must be at least 32 characters (HS256 keys shorter than the hash are weak)"
    )

# --- REST framework -------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "enterprise.api.authentication.JWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["enterprise.api.permissions.TenantRolePermission"],
    "DEFAULT_RENDERER_CLASSES": (
        [
            "enterprise.api.renderers.FastJSONRenderer",
            "rest_framework.renderers.BrowsableAPIRenderer",
        ]
        if DEBUG
        else ["enterprise.api.renderers.FastJSONRenderer"]
    ),
    "DEFAULT_PARSER_CLASSES": ["enterprise.api.parsers.StrictJSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": (
        "enterprise.api.negotiation.RememberingContentNegotiation"
    ),
    "DEFAULT_FILTER_BACKENDS": ["enterprise.api.filters_backend.ScopedFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "enterprise.api.pagination.KeysetPagination",
    # Abuse limits (enterprise/api/throttling.py); an empty rate switches a scope off.
    "DEFAULT_THROTTLE_CLASSES": [
        "enterprise.api.throttling.WriteRateThrottle",
        "enterprise.api.throttling.WriteAddressRateThrottle",
        "enterprise.api.throttling.ExpensiveRateThrottle",
        "enterprise.api.throttling.ExpensiveAddressRateThrottle",
    ],
    # Proxies in front whose X-Forwarded-For is trusted for per-address limits (0: the peer
    # address; a client could otherwise pick its own address by sending that header).
    "NUM_PROXIES": env_int("TRUSTED_PROXIES", 0, minimum=0),
    "DEFAULT_THROTTLE_RATES": {
        "writes": env_str("THROTTLE_WRITES", "600/min"),
        "writes_ip": env_str("THROTTLE_WRITES_PER_IP", "1200/min"),
        "expensive": env_str("THROTTLE_EXPENSIVE", "300/min"),
        "expensive_ip": env_str("THROTTLE_EXPENSIVE_PER_IP", "1200/min"),
    },
    "DEFAULT_SCHEMA_CLASS": "enterprise.api.schema.EnterpriseAutoSchema",
    "EXCEPTION_HANDLER": "enterprise.api.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "PAGE_SIZE": 20,
    "NON_FIELD_ERRORS_KEY": "nonFieldErrors",
    "URL_FORMAT_OVERRIDE": None,
}

# The one error body (enterprise.api.exceptions.error_body), a schema component.
_ERROR_COMPONENT = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string", "description": "Machine-readable error code."},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "additionalProperties": True,
                    "description": "Messages per offending field (camelCase) or header.",
                },
            },
        }
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Dental OS enterprise service",
    "DESCRIPTION": "Organizations, clinics, providers and provider-clinic assignments.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "APPEND_COMPONENTS": {
        "schemas": {"Error": _ERROR_COMPONENT},
        "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
        },
    },
    "SECURITY": [{"bearerAuth": []}],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "enterprise.api.schema.blank_strings_any_of",
        "enterprise.api.schema.field_selection_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "OrganizationStatusEnum": "organizations.models.OrganizationStatus",
        "ClinicStatusEnum": "clinics.models.ClinicStatus",
        "ProviderStatusEnum": "providers.models.ProviderStatus",
    },
}

for _scope, _rate in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].items():
    if _rate and not re.fullmatch(r"\d+/(s|sec|second|m|min|minute|h|hour|d|day)", _rate):
        raise ImproperlyConfigured(
            f"THROTTLE_{_scope.upper().replace('_IP', '_PER_IP')}: expected N/second, N/minute, "
            f"N/hour or N/day (or empty to switch it off), got {_rate!r}"
        )

# --- Security headers (production values; DEBUG relaxes nothing here) -----
SECURE_CONTENT_TYPE_NOSNIFF = True
# CSRF failures under /api/ answer in the JSON error shape (the admin keeps Django's page).
CSRF_FAILURE_VIEW = "enterprise.api.exceptions.csrf_failure"
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
X_FRAME_OPTIONS = "DENY"
# HTTPS only (set behind TLS; `manage.py check --deploy` passes with the README's production values).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# Load balancers probe health and Prometheus scrapes over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^api/v1/performance/health/?$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}
