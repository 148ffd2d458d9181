"""One pooled httpx client per process for calls to providers' APIs.

Building an httpx.Client loads the CA bundle (tens of milliseconds), so tool
calls share one; it is thread-safe and keeps connections alive. Timeouts are
passed per request from settings, so tests can shorten them.
"""

from __future__ import annotations

import threading

import httpx
from django.conf import settings

_client: httpx.Client | None = None
_lock = threading.Lock()


def provider_client() -> httpx.Client:
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                _client = httpx.Client(
                    limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
                    follow_redirects=False,
                )
    return _client


def provider_timeout() -> httpx.Timeout:
    return httpx.Timeout(settings.PROVIDER_HTTP_TIMEOUT_SECONDS)
