"""The one outbound transport: every provider call, token call and revoke goes through here.

* One pooled httpx2 client per process (building one loads the CA bundle; the
  client is thread-safe and keeps connections alive), no redirects, and the
  egress policy at connect time (connections/egress.py).
* Bounded answers: a body larger than PROVIDER_MAX_RESPONSE_BYTES is refused
  while it streams in, never held whole.
* Failures mapped once, for every provider (healthchecks' `raise_for_response`):
  401 → the token was rejected (refresh and retry once), 403 → forbidden,
  404, 409, 400/422 → invalid input, 429 → rate limited with the wait read from
  the provider's own headers (Retry-After, or a reset time), 5xx → provider
  unavailable, timeouts, answers that are not JSON. A provider adds only
  `raise_for_body` for errors hidden in 200 answers (GraphQL `errors`, Slack
  `ok: false`).
"""

from __future__ import annotations

import email.utils
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpcore2
import httpx2
from django.conf import settings

from connections.egress import EgressRefused, GuardedBackend
from connections.errors import (
    EgressBlocked,
    ProviderTimeout,
    ProviderUnavailable,
    TokenRejected,
    ToolConflict,
    ToolForbidden,
    ToolInvalid,
    ToolNotFound,
    ToolRateLimited,
)
from connections.providers.catalog import Provider
from core.db import release_connection


def ssl_context() -> Any:
    """The system's trusted CAs, plus EGRESS_CA_FILE (on-premises servers with a private CA)."""
    context = httpx2.create_ssl_context()
    if settings.EGRESS_CA_FILE:
        context.load_verify_locations(cafile=settings.EGRESS_CA_FILE)
    return context


class GuardedTransport(httpx2.HTTPTransport):
    """httpx2's transport over a connection pool whose sockets pass the egress policy."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        limits = kwargs.get("limits", httpx2.Limits(max_connections=100))
        # httpx2 builds its pool without a way to choose the network backend; the pool
        # is rebuilt with the same settings and the guarded backend.
        self._pool = httpcore2.ConnectionPool(
            ssl_context=ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(),
        )


_client: httpx2.Client | None = None
_lock = threading.Lock()


def close_client() -> None:
    """Close the pooled client (its kept-alive connections); the next call opens a new one."""
    global _client
    with _lock:
        if _client is not None:
            _client.close()
        _client = None


def guarded_client() -> httpx2.Client:
    """The process-wide client (also used by the model client for agent base URLs)."""
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                limits = httpx2.Limits(max_connections=200, max_keepalive_connections=50)
                _client = httpx2.Client(
                    transport=GuardedTransport(limits=limits),
                    follow_redirects=False,
                    trust_env=False,
                )
    return _client


@dataclass(frozen=True)
class ProviderResponse:
    status_code: int
    headers: httpx2.Headers
    content: bytes
    elapsed_ms: float

    def json(self) -> Any:
        return json.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


class TooLarge(Exception):
    pass


def api_timeout() -> httpx2.Timeout:
    return httpx2.Timeout(settings.PROVIDER_HTTP_TIMEOUT_SECONDS)


def token_timeout() -> httpx2.Timeout:
    # Token endpoints get a separate, generous timeout: a refresh that times out may have
    # rotated the refresh token at the provider, and its answer is the only copy.
    return httpx2.Timeout(settings.PROVIDER_TOKEN_TIMEOUT_SECONDS)


def send(
    method: str,
    url: str,
    *,
    what: str,
    headers: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
    json_body: Any = None,
    data: dict[str, Any] | None = None,
    content: bytes | None = None,
    timeout: httpx2.Timeout | None = None,
    max_bytes: int | None = None,
) -> ProviderResponse:
    """One request through the guarded client; transport failures become portal errors
    that say what failed (`what`: "GitHub API", "Slack token endpoint") and never echo
    a socket's message."""
    limit = max_bytes or settings.PROVIDER_MAX_RESPONSE_BYTES
    release_connection()  # in workers: no database connection held while a provider answers
    started = time.perf_counter()
    try:
        with guarded_client().stream(
            method,
            url,
            headers=headers,
            params=params,
            json=json_body,
            data=data,
            content=content,
            timeout=timeout or api_timeout(),
        ) as response:
            body = _read_capped(response, limit)
    except EgressRefused as exc:
        raise EgressBlocked(f"{what}: {exc}") from None
    except TooLarge:
        raise ProviderUnavailable(f"{what} sent an answer larger than {limit} bytes.") from None
    except httpx2.TimeoutException:
        raise ProviderTimeout(f"{what} did not answer in time.") from None
    except (httpx2.HTTPError, httpx2.InvalidURL, ValueError):
        raise ProviderUnavailable(f"{what} could not be reached.") from None
    return ProviderResponse(
        response.status_code,
        response.headers,
        body,
        round((time.perf_counter() - started) * 1000, 1),
    )


def _read_capped(response: httpx2.Response, limit: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


# --- Error mapping ------------------------------------------------------------------------


def retry_after(response: ProviderResponse, provider: Provider | None) -> int | None:
    """Seconds to wait, from the provider's own rate-limit headers."""
    spec = provider.api.rate_limit if provider else None
    for name in spec.retry_after if spec else ("retry-after",):
        value = response.headers.get(name)
        if value:
            seconds = _seconds(value)
            if seconds is not None:
                return seconds
    for name in spec.reset if spec else ():
        value = response.headers.get(name)
        if value and value.replace(".", "", 1).isdigit():
            reset = float(value)
            # Epoch seconds (GitHub x-ratelimit-reset) or milliseconds (Linear).
            reset = reset / 1000 if reset > 1e11 else reset
            return max(0, int(reset - time.time()) + 1)
    return None


def _seconds(value: str) -> int | None:
    try:
        return max(0, int(float(value)))
    except ValueError:
        moment = email.utils.parsedate_to_datetime(value) if value else None
        return max(0, int(moment.timestamp() - time.time())) if moment else None


def error_message(body: Any) -> str:
    """The provider's own words for an error, from the usual places, cut short."""
    if isinstance(body, dict):
        for candidate in (
            body.get("message"),
            (body.get("error") or {}).get("message")
            if isinstance(body.get("error"), dict)
            else body.get("error_description") or body.get("error"),
            (body.get("errors") or [{}])[0].get("message")
            if isinstance(body.get("errors"), list)
            and body["errors"]
            and isinstance(body["errors"][0], dict)
            else None,
            body.get("errorMessages", [None])[0]
            if isinstance(body.get("errorMessages"), list) and body["errorMessages"]
            else None,
        ):
            if isinstance(candidate, str) and candidate:
                return candidate[:300]
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return error_message(body[0])
    return ""


def raise_for_status(
    response: ProviderResponse, *, provider: Provider | None, what: str, body: Any = None
) -> None:
    """The portal error for a non-2xx answer (401 raises TokenRejected)."""
    status = response.status_code
    if status < 300:
        return
    if status < 400:
        raise ProviderUnavailable(f"{what} answered HTTP {status}; redirects are not followed.")
    detail = error_message(body)
    suffix = f": {detail}" if detail else "."
    if status == 401:
        raise TokenRejected()
    if status == 429:
        raise ToolRateLimited(
            f"{what} rate limit reached; retry later{suffix}",
            retry_after=retry_after(response, provider),
        )
    if status == 403:
        raise ToolForbidden(
            f"The connected account may not do this at {what}{suffix}",
            details={"provider_status": status},
        )
    if status == 404:
        raise ToolNotFound(f"{what}: not found or not visible to this user{suffix}")
    if status == 409:
        raise ToolConflict(f"{what} reported a conflict{suffix}")
    if status in (400, 405, 406, 410, 411, 412, 413, 414, 415, 422):
        raise ToolInvalid(f"{what} refused the input{suffix}")
    raise ProviderUnavailable(f"{what} answered HTTP {status}{suffix}")


def parse_json(response: ProviderResponse, *, what: str) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise ProviderUnavailable(f"{what} sent an answer that is not JSON.") from None


def _auth_headers(provider: Provider, access_token: str) -> dict[str, str]:
    auth = access_token if provider.api.auth_header == "raw" else f"Bearer {access_token}"
    return {"Authorization": auth}


def send_as_user(
    provider: Provider,
    method: str,
    url: str,
    *,
    access_token: str,
    headers: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
    content: bytes | None = None,
) -> ProviderResponse:
    """One request as the user, the answer returned as it is; a 401 raises TokenRejected."""
    response = send(
        method,
        url,
        what=provider.display_name,
        headers={
            **provider.api.headers,
            **(headers or {}),
            **_auth_headers(provider, access_token),
        },
        params=params,
        content=content,
    )
    if response.status_code == 401:
        raise TokenRejected()
    return response


def call_api(
    provider: Provider,
    method: str,
    url: str,
    *,
    access_token: str,
    headers: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
    json_body: Any = None,
    data: dict[str, Any] | None = None,
) -> tuple[ProviderResponse, Any]:
    """A call to the provider's API as the user: auth header, default headers, mapped
    errors, then the provider's check of the body. Returns (response, parsed JSON)."""
    what = provider.display_name
    response = send(
        method,
        url,
        what=what,
        headers={
            "Accept": "application/json",
            **provider.api.headers,
            **(headers or {}),
            **_auth_headers(provider, access_token),
        },
        params=params,
        json_body=json_body,
        data=data,
    )
    status = response.status_code
    if status == 401:
        raise TokenRejected()
    if status == 429 or status >= 500 or 300 <= status < 400:
        raise_for_status(response, provider=provider, what=what)
    try:
        body = response.json() if response.content else None
    except ValueError:
        if status >= 400:
            raise_for_status(response, provider=provider, what=what)
        raise ProviderUnavailable(f"{what} sent an answer that is not JSON.") from None
    if provider.raise_for_body is not None:
        provider.raise_for_body(body, response, provider)
    raise_for_status(response, provider=provider, what=what, body=body)
    return response, body
