"""Settings shared by every way the portal runs; the environment fills them in.

Every environment variable the portal reads is read in this package, once (README lists
them). A local `.env` file is loaded first when present; real environment variables win
over it. This module decides nothing about the mode: `runtime` (make run and production)
refuses missing secrets, `test` supplies throwaway ones.
"""

import os
import warnings
from pathlib import Path
from urllib.parse import unquote, urlsplit

import dj_database_url
from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent.parent
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
SECRET_KEY = os.environ.get("SECRET_KEY", "")
# /metrics (front/metrics.py) answers scrapes bearing this token; unset, it is off.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
# Enterprise identity (issue 27): the DNS resolver domain verification asks (host:port;
# empty: the system's), and whether an owner may confirm a domain without DNS
# (development only; on with DEBUG).
DNS_RESOLVER = os.environ.get("DNS_RESOLVER", "")
DOMAIN_ADMIN_CONFIRM = env_bool("DOMAIN_ADMIN_CONFIRM", default=DEBUG)
# Run steps link their trace here (core/tracing.py), e.g.
# https://grafana.example/explore?traceId={trace_id}
TRACE_URL_TEMPLATE = os.environ.get("TRACE_URL_TEMPLATE", "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# The vault's key ring: "kid1:base64key,kid2:base64key" — the first seals, all open.
VAULT_KEYS = os.environ.get("VAULT_KEYS", "")

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
EGRESS_ALLOW_PRIVATE = env_list("EGRESS_ALLOW_PRIVATE", "")

OPENAI_API_KEY = os.environ.get("OPENAI_API_KEY", "")
OPENAI_BASE_URL = os.environ.get("OPENAI_BASE_URL", "")
OPENAI_TIMEOUT_SECONDS = float(os.environ.get("OPENAI_TIMEOUT_SECONDS", "60"))
OPENAI_MAX_RETRIES = int(os.environ.get("OPENAI_MAX_RETRIES", "2"))

# The public URL of this portal, used in links that leave the browser session
# (invitation emails, OAuth redirect URIs). Required with DEBUG off (runtime).
PORTAL_BASE_URL = os.environ.get("PORTAL_BASE_URL", "").rstrip("/")

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
    # Single sign-on per organization (identity/sso.py): OpenID Connect apps are served
    # from the vault by identity/adapters.py, never stored in allauth's tables.
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.socialaccount.providers.saml",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "oauth2_provider",
    "core",
    "portal",
    "identity",
    "audit",
    "connections",
    "agents",
    "webhooks",
    "mcpserver",
    "sandbox",
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
            "builtins": ["core.templatetags.when"],
        },
    },
]


def database(*, pool_size: int) -> dict:
    """The database of DATABASE_URL (SQLite in the checkout by default); on PostgreSQL a
    pool of `pool_size` connections per process (0: none; DB_POOL_MAX_SIZE overrides)."""
    config = dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
    if config["ENGINE"] == "django.db.backends.postgresql":
        # Django's backend, answering a statement sent ahead before a transaction begins.
        config["ENGINE"] = "core.postgresql"
        # A worker thread that waits on a model or a provider gives its connection back
        # (core/db.py). README "Production" has the connection arithmetic.
        pool_max = int(os.environ.get("DB_POOL_MAX_SIZE", str(pool_size)))
        options = config.setdefault("OPTIONS", {})
        # A database that is away is answered with 503 within 5 s (core/dependencies.py):
        # connecting gives up after 3 s, waiting for a pooled connection after 3 s (the
        # answer, with its own work, must still come within 5 s on a busy machine: 4 s
        # left too little on a loaded CI runner).
        options.setdefault(
            "connect_timeout", int(os.environ.get("DB_CONNECT_TIMEOUT_SECONDS", "3"))
        )
        if env_bool("DB_PGBOUNCER"):
            # PgBouncer in transaction mode: no server-side cursors or prepared statements.
            config["DISABLE_SERVER_SIDE_CURSORS"] = True
            options["prepare_threshold"] = None
        else:
            # The statements of core.db.bound_cursor are prepared on their 5th run on a
            # connection (Django's other queries bind client-side: never prepared).
            options.setdefault("prepare_threshold", 5)
        if pool_max:
            options["pool"] = {
                "min_size": 1,
                "max_size": pool_max,
                "timeout": float(os.environ.get("DB_POOL_TIMEOUT_SECONDS", "3")),
            }
            config["CONN_MAX_AGE"] = 0  # the pool keeps connections, not Django
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # IMMEDIATE transactions serialize writers at BEGIN, so read-then-write
        # sections (the audit sequencer, token refresh) cannot interleave on SQLite.
        config["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
        config["CONN_MAX_AGE"] = 0
        # A file, not shared-cache memory: concurrency tests need SQLite's real locking.
        (BASE_DIR / "var").mkdir(exist_ok=True)
        # Per process, so two test runs on one checkout never share (and clobber) a file.
        config["TEST"] = {"NAME": str(BASE_DIR / "var" / f"test-{os.getpid()}.sqlite3")}
    return config


DATABASES = {"default": database(pool_size=20)}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "portal.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
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
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Serve static files straight from the app folders in development.
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = DEBUG
# WhiteNoise streams files with a synchronous iterator; under ASGI Django says so on every
# static file. Harmless (files are small and cached by browsers); not worth the noise.
warnings.filterwarnings(
    "ignore", message="StreamingHttpResponse must consume synchronous iterators"
)

REDIS_URL = os.environ.get("REDIS_URL", "")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if REDIS_URL:
    CACHES["default"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
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
ACCOUNT_ADAPTER = "identity.adapters.PortalAccountAdapter"
SOCIALACCOUNT_ADAPTER = "identity.adapters.PortalSocialAccountAdapter"
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_STORE_TOKENS = False  # the identity provider's tokens are not kept
SOCIALACCOUNT_LOGIN_ON_GET = False
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
        "Authenticate with `Authorization: Bearer ap_<prefix>_<secret>` (test keys: "
        "`ap_test_…`, sandbox connections only). Agents outside the portal use the same "
        "tools over MCP at `/mcp`. [← Back to the portal](/)"
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.add_error_responses",
        "core.api.schema.open_free_form_objects",
        "core.api.schema.group_by_task",
    ],
    # Swagger UI served from our own static files, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

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
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Load balancers probe, and Prometheus scrapes, over plain http inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    if env_bool("BEHIND_TLS_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Logging ------------------------------------------------------------------
# One line per record; JSON (`LOG_FORMAT=json`, the default with DEBUG off) carries each
# request's and task's fields — request_id, route, status, duration_ms, organization,
# execution_ids, run_ids, task, outcome (core/middleware.py, core/worker.py).
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
        }
    },
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

from portal.settings.background import *  # noqa: E402, F403
from portal.settings.mcp import *  # noqa: E402, F403

MCP_RESOURCE_URL, OAUTH2_PROVIDER = mcp_resource(PORTAL_BASE_URL)  # noqa: F405
