"""Settings of the test suite and the benchmarks: throwaway secrets, fast password
hashing, tasks run in-process (unless a test starts real workers with a broker), loopback
reachable for the emulators, and static files served from the app folders.

Variables still win where a test starts a process with its own (a broker, a database).
"""

import os

from portal.settings.base import *  # noqa: F403

SECRET_KEY = SECRET_KEY or "insecure-test-key-" + "x" * 40  # noqa: F405
VAULT_KEYS = VAULT_KEYS or "test:dGVzdC1vbmx5LXZhdWx0LWtleS0zMi1ieXRlcy1vayE="  # noqa: F405
PORTAL_BASE_URL = (os.environ.get("PORTAL_BASE_URL") or "http://testserver").rstrip("/")
MCP_RESOURCE_URL, OAUTH2_PROVIDER = mcp_resource(PORTAL_BASE_URL)  # noqa: F405
# The emulators listen on loopback.
EGRESS_ALLOW_PRIVATE = env_list("EGRESS_ALLOW_PRIVATE", "127.0.0.0/8,::1")  # noqa: F405

# One connection per test thread: live servers and workers share the test database.
DATABASES = {"default": database(pool_size=0)}  # noqa: F405
# Hashing cost dominates a suite that signs users in; tests don't need it.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = True
# Per process and forgotten between tests (a fixture clears it), whatever REDIS_URL says.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)  # noqa: F405

CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not CELERY_BROKER_URL)  # noqa: F405
if not CELERY_BROKER_URL and not CELERY_TASK_ALWAYS_EAGER:  # noqa: F405
    CELERY_BROKER_URL, CELERY_BROKER_TRANSPORT_OPTIONS = embedded_broker(BROKER_FOLDER)  # noqa: F405
