"""Settings of a running portal: `make run` (DEBUG on) and production (DEBUG off).

Production start-up refuses to run without its secrets and its public URL, naming the
variable; development gets stand-ins (`make run` also writes a development .env).
"""

from django.core.exceptions import ImproperlyConfigured

from portal.settings.base import *  # noqa: F403

_REQUIRED = {
    "SECRET_KEY": "Set it in the environment or in .env (`make run` writes a development "
    ".env for you).",
    "VAULT_KEYS": "Generate one with `python -m connections.vault` and keep it secret; "
    "without it no token can be stored.",
    "PORTAL_BASE_URL": "With DEBUG off the portal needs its public URL "
    "(e.g. https://portal.example.com) for OAuth redirect URIs and the links it sends.",
}
if not DEBUG:  # noqa: F405
    for _name, _why in _REQUIRED.items():
        if not globals()[_name]:
            raise ImproperlyConfigured(f"{_name} is not set. {_why}")
    if not CELERY_BROKER_URL and not CELERY_TASK_ALWAYS_EAGER:  # noqa: F405
        raise ImproperlyConfigured(
            "REDIS_URL is not set: background work needs a broker (REDIS_URL or "
            "CELERY_BROKER_URL), e.g. redis://127.0.0.1:6379/0."
        )
SECRET_KEY = SECRET_KEY or "insecure-development-key-do-not-use-in-production"  # noqa: F405
if not CELERY_BROKER_URL and not CELERY_TASK_ALWAYS_EAGER:  # noqa: F405
    CELERY_BROKER_URL, CELERY_BROKER_TRANSPORT_OPTIONS = embedded_broker(BROKER_FOLDER)  # noqa: F405
