"""Agent Portal settings.

Every environment variable the portal reads is read here, once (README lists
them). A local `.env` file is loaded first when present; real environment
variables win over it.
"""

import os
import sys
import warnings
from pathlib import Path
from urllib.parse import unquote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent
# PORTAL_ENV_FILE points elsewhere (e.g. a secrets mount); real variables always win.
load_dotenv(os.environ.get("PORTAL_ENV_FILE") or BASE_DIR / ".env", override=False)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=False)
# Under pytest the suite supplies throwaway secrets and fast password hashing.
TESTING = env_bool("PORTAL_TESTING", default="pytest" in sys.modules)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and not TESTING:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment or in .env "
            "(`make run` writes a development .env for you)."
        )
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# The vault's key ring: "kid1:base64key,kid2:base64key" — the first seals, all open.
VAULT_KEYS = os.environ.get("VAULT_KEYS", "")
if not VAULT_KEYS and TESTING:
    VAULT_KEYS = "test:" + "dGVzdC1vbmx5LXZhdWx0LWtleS0zMi1ieXRlcy1vayE="  # 32 bytes, tests only
if not VAULT_KEYS and not DEBUG and not TESTING:
    raise ImproperlyConfigured(
        "VAULT_KEYS is not set. Generate one with "
        "`python -m connections.vault` and keep it secret; without it no token can be stored."
    )

# Account events (sign-up, failed sign-in) belong to no organization; kept this long.
AUDIT_GLOBAL_RETENTION_DAYS = int(os.environ.get("AUDIT_GLOBAL_RETENTION_DAYS", "365"))

# Every call to a provider's API gives up after this long; token endpoints get their own,
# generous timeout (a refresh that times out may have rotated the token at the provider).
PROVIDER_HTTP_TIMEOUT_SECONDS = float(os.environ.get("PROVIDER_HTTP_TIMEOUT_SECONDS", "10"))
PROVIDER_TOKEN_TIMEOUT_SECONDS = float(os.environ.get("PROVIDER_TOKEN_TIMEOUT_SECONDS", "30"))
# Proactive refreshes of a sweep start spread over this many seconds (no burst per provider).
REFRESH_JITTER_SECONDS = float(os.environ.get("REFRESH_JITTER_SECONDS", "10"))
# Larger provider answers are refused while they stream in.
PROVIDER_MAX_RESPONSE_BYTES = int(os.environ.get("PROVIDER_MAX_RESPONSE_BYTES", str(10 * 2**20)))

# The egress policy (core/egress.py): private, loopback and link-local addresses are
# refused for every tenant-chosen URL unless listed here (CIDRs or host names), e.g. for an
# on-prem GitHub Enterprise. Development (make run) and the tests list loopback here;
# DEBUG never opens anything by itself.
# Extra CA certificates (a PEM file) trusted for outbound TLS: on-premises servers signed
# by a private CA.
EGRESS_CA_FILE = os.environ.get("EGRESS_CA_FILE", "")
EGRESS_ALLOW_PRIVATE = env_list("EGRESS_ALLOW_PRIVATE", "127.0.0.0/8,::1" if TESTING else "")

OPENAI_API_KEY = os.environ.get("OPENAI_API_KEY", "")
OPENAI_BASE_URL = os.environ.get("OPENAI_BASE_URL", "")
OPENAI_TIMEOUT_SECONDS = float(os.environ.get("OPENAI_TIMEOUT_SECONDS", "60"))
OPENAI_MAX_RETRIES = int(os.environ.get("OPENAI_MAX_RETRIES", "2"))

# The public URL of this portal, used in links that leave the browser session
# (invitation emails, OAuth redirect URIs). Empty: built from the request.
PORTAL_BASE_URL = os.environ.get("PORTAL_BASE_URL", "http://testserver" if TESTING else "")
PORTAL_BASE_URL = PORTAL_BASE_URL.rstrip("/")
if not PORTAL_BASE_URL and not DEBUG:
    raise ImproperlyConfigured(
        "PORTAL_BASE_URL is not set: with DEBUG off the portal needs its public URL "
        "(e.g. https://portal.example.com) for OAuth redirect URIs and the links it sends."
    )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "oauth2_provider",
    "core",
    "portal",
    "audit",
    "connections",
    "agents",
    "webhooks",
    "mcpserver",
    "front",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.RequestIdMiddleware",
    "core.middleware.ContentSecurityPolicyMiddleware",
    "core.middleware.InputGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "portal.middleware.OrganizationMiddleware",
    "mcpserver.cors.OAuthCorsMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

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
                "portal.context_processors.portal",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # DB_POOL_MAX_SIZE: Django's pool (psycopg_pool) per process; a worker thread that
    # waits on a model or a provider gives its connection back (core/db.py). README
    # "Production" has the connection arithmetic.
    _pool_max = int(os.environ.get("DB_POOL_MAX_SIZE", "0" if TESTING else "20"))
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    # A database that is away is answered with 503 within 5 s (core/dependencies.py):
    # connecting gives up after 3 s, waiting for a pooled connection after 5 s.
    _options.setdefault("connect_timeout", int(os.environ.get("DB_CONNECT_TIMEOUT_SECONDS", "3")))
    if env_bool("DB_PGBOUNCER"):
        # PgBouncer in transaction mode: no server-side cursors or prepared statements.
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
        _options["prepare_threshold"] = None
    if _pool_max:
        _options["pool"] = {
            "min_size": 1,
            "max_size": _pool_max,
            "timeout": float(os.environ.get("DB_POOL_TIMEOUT_SECONDS", "5")),
        }
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps connections, not Django
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions serialize writers at BEGIN, so read-then-write
    # sections (audit chain head, token refresh) cannot interleave on SQLite.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # A file, not shared-cache memory: concurrency tests need SQLite's real locking.
    (BASE_DIR / "var").mkdir(exist_ok=True)
    # Per process, so two test runs on one checkout never share (and clobber) a file.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / f"test-{os.getpid()}.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "portal.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    # Hashing cost dominates a test suite that logs users in; tests don't need it.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Serve static files straight from the app folders in development and tests.
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = DEBUG or TESTING
# WhiteNoise streams files with a synchronous iterator; under ASGI Django says so on every
# static file. Harmless (files are small and cached by browsers); not worth the noise.
warnings.filterwarnings(
    "ignore", message="StreamingHttpResponse must consume synchronous iterators"
)

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if os.environ.get("REDIS_URL") and not TESTING:
    CACHES["default"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["REDIS_URL"],
        # A Redis that is away costs a request at most a second (core/dependencies.py).
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }

# --- Email -------------------------------------------------------------------
# EMAIL_URL=smtp://user:password@host:587?tls=1 (or the EMAIL_* variables).
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Agent Portal <portal@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
_email_url = os.environ.get("EMAIL_URL", "")
if _email_url:
    _parts = urlsplit(_email_url)
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _parts.hostname or "localhost"
    EMAIL_PORT = _parts.port or 25
    EMAIL_HOST_USER = unquote(_parts.username or "")
    EMAIL_HOST_PASSWORD = unquote(_parts.password or "")
    EMAIL_USE_TLS = "tls=1" in _parts.query or _parts.scheme == "smtp+tls"
    EMAIL_USE_SSL = _parts.scheme == "smtps"
else:
    EMAIL_BACKEND = os.environ.get(
        "EMAIL_BACKEND",
        "django.core.mail.backends.console.EmailBackend"
        if DEBUG
        else "django.core.mail.backends.smtp.EmailBackend",
    )
    EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_TIMEOUT = 10

# --- Accounts (django-allauth) ------------------------------------------------
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = os.environ.get("ACCOUNT_EMAIL_VERIFICATION", "mandatory")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Agent Portal] "
ACCOUNT_RATE_LIMITS = {
    # allauth's defaults, stated so a reader sees them; login failures are per IP and per account.
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
}
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"
LOGIN_REDIRECT_URL = "/"
LOGIN_URL = "account_login"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Agent Portal"

# --- REST API ---------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.api.authentication.ApiKeyAuthentication",
        "portal.api.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.api.permissions.IsOrganizationCaller"],
    "DEFAULT_THROTTLE_CLASSES": ["core.api.throttling.CallerRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"caller": os.environ.get("API_RATE_LIMIT", "1200/min")},
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.SafeJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "ENUM_NAME_OVERRIDES": {
        "AccountStatusEnum": "connections.models.AccountStatus",
        "RunStatusEnum": "agents.models.RunStatus",
        "WebhookDeliveryStatusEnum": "webhooks.models.WebhookDelivery.Status",
    },
    "TITLE": "Agent Portal API",
    "DESCRIPTION": (
        "Connected accounts, tools and agents that act in SaaS tools as the requesting user. "
        "Authenticate with `Authorization: Bearer ap_<prefix>_<secret>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.add_error_responses",
        "core.api.schema.open_free_form_objects",
    ],
    # Swagger UI served from our own static files, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Background work (Celery) --------------------------------------------------
# README "Production": Redis in production; the filesystem broker for `make run` (nothing
# to install); tasks run in-process while testing, unless a test starts real workers.
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or REDIS_URL
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", TESTING and not CELERY_BROKER_URL)
if not CELERY_BROKER_URL and not CELERY_TASK_ALWAYS_EAGER:
    if not DEBUG:
        raise ImproperlyConfigured(
            "REDIS_URL is not set: background work needs a broker (REDIS_URL or "
            "CELERY_BROKER_URL), e.g. redis://127.0.0.1:6379/0."
        )
    CELERY_BROKER_URL = "filesystem://localhost/"
    _broker = Path(os.environ.get("CELERY_BROKER_FOLDER") or BASE_DIR / "var" / "broker")
    for _folder in ("queue", "processed", "control"):
        (_broker / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "polling_interval": 0.2,
        "control_folder": str(_broker / "control"),
        "data_folder_in": str(_broker / "queue"),
        "data_folder_out": str(_broker / "queue"),
        "data_folder_processed": str(_broker / "processed"),
    }
# One queue per installation by default; tests that start real workers use their own.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "celery")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a task taken by a worker that dies is delivered again
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# On a lost broker connection, in-flight tasks run on: runs and refreshes hold leases and
# claims of their own in PostgreSQL (portal/broker.py says what happens to their acks).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing (web processes queueing runs, webhook senders) gives up fast when the broker
# is away: the work's recovery job queues it again (core/dependencies.py).
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 0.5,
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(BASE_DIR / "var" / "celerybeat-schedule")
# How many tasks (agent runs, refreshes, deliveries) one worker process runs at once:
# they wait on models and providers, so threads, many of them.
WORKER_CONCURRENCY = int(os.environ.get("WORKER_CONCURRENCY", "100"))
CELERY_WORKER_CONCURRENCY = WORKER_CONCURRENCY
CELERY_WORKER_POOL = "threads"
# Each kind of work has its own share of those threads (core/bulkheads.py), so slow
# webhook endpoints cannot starve agent runs or refreshes: `runs=60,upkeep=20,webhooks=15`.
WORKER_BULKHEADS = {
    "runs": max(1, WORKER_CONCURRENCY * 60 // 100),
    "upkeep": max(1, WORKER_CONCURRENCY * 20 // 100),
    "webhooks": max(1, WORKER_CONCURRENCY * 15 // 100),
} | {
    kind: int(size)
    for kind, _, size in (entry.partition("=") for entry in env_list("WORKER_BULKHEADS", ""))
}

# Agent runs: a worker holds a lease on the run it drives and renews it while it works;
# a run whose lease lapsed is resumed by another worker (agents/leases.py).
RUN_LEASE_SECONDS = float(os.environ.get("RUN_LEASE_SECONDS", "30"))
RUN_RESUME_EVERY_SECONDS = float(os.environ.get("RUN_RESUME_EVERY_SECONDS", "15"))
RUN_WALL_CLOCK_LIMIT_SECONDS = float(os.environ.get("RUN_WALL_CLOCK_LIMIT_SECONDS", "1800"))

# Periodic jobs (core.jobs runs each one at a time), interval in seconds.
PERIODIC_JOBS = {
    "refresh_due_tokens": (
        "connections.tasks.refresh_due_tokens",
        float(os.environ.get("TOKEN_REFRESH_EVERY_SECONDS", "60")),
    ),
    "keep_tokens_alive": ("connections.tasks.keep_tokens_alive", 3600),
    "resume_stalled_runs": ("agents.tasks.resume_stalled_runs", RUN_RESUME_EVERY_SECONDS),
    "prune_authorizations": ("connections.tasks.prune_authorization_requests", 600),
    "close_stale_intents": ("audit.tasks.close_stale_intents", 300),
    # Gives new audit events their place in their chain (audit/sequencer.py): the most an
    # event waits to be chained.
    "sequence_audit": (
        "audit.tasks.sequence_audit",
        float(os.environ.get("AUDIT_SEQUENCE_EVERY_SECONDS", "1")),
    ),
    "prune_audit": ("audit.tasks.prune_audit", 86400),
    "prune_mcp_clients": ("mcpserver.tasks.prune_mcp_clients", 3600),
    "dispatch_webhooks": (
        "webhooks.tasks.dispatch_webhooks",
        float(os.environ.get("WEBHOOK_DISPATCH_EVERY_SECONDS", "10")),
    ),
    "prune_webhooks": ("webhooks.tasks.prune_webhooks", 86400),
}

# Outbound webhooks (webhooks/): Standard Webhooks signing, at-least-once delivery.
WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "10"))
# Seconds before each retry (±10 % jitter); after the last, the delivery fails.
WEBHOOK_RETRY_SCHEDULE = [
    float(s) for s in env_list("WEBHOOK_RETRY_SCHEDULE", "5,300,1800,7200,18000,36000")
]
# Requests in flight at once to one endpoint (one sender per endpoint).
WEBHOOK_ENDPOINT_CONCURRENCY = int(os.environ.get("WEBHOOK_ENDPOINT_CONCURRENCY", "4"))
WEBHOOK_DISABLE_AFTER_DAYS = float(os.environ.get("WEBHOOK_DISABLE_AFTER_DAYS", "3"))
CELERY_BEAT_SCHEDULE = {
    name: {"task": task, "schedule": float(seconds)}
    for name, (task, seconds) in PERIODIC_JOBS.items()
}

# --- MCP server and its OAuth 2.1 authorization server (mcpserver/) ---------------
# The MCP endpoint is PORTAL_BASE_URL + /mcp; tokens are issued for exactly that resource.
MCP_RESOURCE_URL = f"{PORTAL_BASE_URL}/mcp"
MCP_ASGI_WRAPPER = "mcpserver.asgi.with_mcp"
# Browser-based MCP clients whose Origin may call /mcp (clients without an Origin, like
# Claude Desktop or Cursor, are not affected). The portal's own origin is always allowed.
MCP_ALLOWED_ORIGINS = env_list("MCP_ALLOWED_ORIGINS", "")
MCP_ACCESS_TOKEN_SECONDS = int(os.environ.get("MCP_ACCESS_TOKEN_SECONDS", "3600"))
# Handshake-era sessions (mcpserver/sessions.py): idle lifetime, and how many one person's
# client may hold at once.
MCP_SESSION_IDLE_SECONDS = float(os.environ.get("MCP_SESSION_IDLE_SECONDS", "1800"))
MCP_SESSIONS_PER_PRINCIPAL = int(os.environ.get("MCP_SESSIONS_PER_PRINCIPAL", "20"))
MCP_REFRESH_TOKEN_DAYS = int(os.environ.get("MCP_REFRESH_TOKEN_DAYS", "30"))
# Unauthenticated registrations (RFC 7591) per client IP and hour; unused ones expire.
MCP_REGISTRATIONS_PER_HOUR = int(os.environ.get("MCP_REGISTRATIONS_PER_HOUR", "20"))
MCP_UNUSED_CLIENT_DAYS = int(os.environ.get("MCP_UNUSED_CLIENT_DAYS", "1"))
MCP_SCOPES = {
    "tools:read": "See your tools and run the ones that only read",
    "tools:write": "Run tools that create, change or delete things as you",
}
# django-oauth-toolkit's own models (named, since its migrations treat them as swappable).
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"
OAUTH2_PROVIDER_DEVICE_GRANT_MODEL = "oauth2_provider.DeviceGrant"
# Unauthenticated client metadata document fetches at once per source address (per
# process; the whole process: CIMD_MAX_CONCURRENT_FETCHES below).
MCP_METADATA_FETCHES_PER_ADDRESS = int(os.environ.get("MCP_METADATA_FETCHES_PER_ADDRESS", "2"))
OAUTH2_PROVIDER = {
    # mcpserver/oauth_server.py: handlers for exactly the advertised grant types below,
    # hashed codes, every token family bound to its grant (one organization) at issue.
    "OAUTH2_SERVER_CLASS": "mcpserver.oauth_server.PortalServer",
    "OAUTH2_VALIDATOR_CLASS": "mcpserver.oauth_server.PortalValidator",
    "SCOPES": MCP_SCOPES,
    "DEFAULT_SCOPES": ["tools:read", "tools:write"],
    "OIDC_ISS_ENDPOINT": PORTAL_BASE_URL,
    "OAUTH2_PROTECTED_RESOURCE_IDENTIFIER": MCP_RESOURCE_URL,
    "OAUTH2_PROTECTED_RESOURCE_NAME": "Agent Portal tools",
    "ACCESS_TOKEN_EXPIRE_SECONDS": MCP_ACCESS_TOKEN_SECONDS,
    "REFRESH_TOKEN_EXPIRE_SECONDS": MCP_REFRESH_TOKEN_DAYS * 86400,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,  # a reused refresh token revokes the family
    "PKCE_REQUIRED": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http", "cursor", "vscode", "vscode-insiders"],
    "ALLOW_LOCALHOST_LOOPBACK": True,  # RFC 8252: native apps' loopback redirects, any port
    "REQUEST_APPROVAL_PROMPT": "force",
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "refresh_token"],
    "OAUTH2_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": [
        "none",
        "client_secret_basic",
        "client_secret_post",
    ],
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,  # S256 only
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,  # RFC 9207
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,  # tokens kept as hashes only
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    # `http` stays for native clients' loopback redirects (RFC 8252); every registration
    # path (mcpserver/clients.py) refuses http to any other host. Hence W008 is silenced.
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": False,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    "DCR_ENABLED": True,
    # Open (MCP clients have no credentials yet); mcpserver.views.RegisterView limits the
    # rate and checks redirect URIs.
    "DCR_REGISTRATION_PERMISSION_CLASSES": ("oauth2_provider.dcr.AllowAllDCRPermission",),
    "CIMD_ENABLED": True,
    "CIMD_METADATA_FETCHER": "mcpserver.clients.GuardedMetadataFetcher",
    "CIMD_REGISTRATION_PERMISSION_CLASSES": ("mcpserver.clients.PerAddressFetchPermission",),
    "CIMD_FETCH_TIMEOUT_SECONDS": float(os.environ.get("MCP_METADATA_TIMEOUT_SECONDS", "5")),
    "CIMD_MAX_CONCURRENT_FETCHES": int(os.environ.get("MCP_METADATA_FETCHES", "10")),
}

# See OAUTH2_PROVIDER above: plain-http redirects are refused except to loopback.
SILENCED_SYSTEM_CHECKS = ["oauth2_provider.W008"]

# --- Security -----------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie-free header tag instead
X_FRAME_OPTIONS = "DENY"
# Scripts only from our own static files (no inline script, no eval); inline styles are
# allowed for Swagger UI and the Django admin; data: images for allauth's TOTP QR code.
CONTENT_SECURITY_POLICY = os.environ.get(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'",
)
SECURE_CONTENT_TYPE_NOSNIFF = True
# Error pages and reports never print a secret held in a local variable (core/reporting.py).
DEFAULT_EXCEPTION_REPORTER_FILTER = "core.reporting.SecretsFilter"
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not TESTING)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain http
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    if env_bool("BEHIND_TLS_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Logging ------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # HTTP client internals log URLs and headers at DEBUG (codes, tokens): never emit them.
        **{
            name: {"level": "WARNING"}
            for name in ("httpx", "httpcore", "httpx2", "httpcore2", "openai", "celery", "kombu")
        },
    },
}
