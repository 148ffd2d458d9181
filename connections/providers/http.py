"""Calls to a provider's API as the user, and the failures of every provider mapped once.

The request itself goes through the portal's one outbound transport (core/outbound.py:
egress policy, no shared state, one total deadline, bounded answers). Here, as
healthchecks' `raise_for_response` does for its integrations: 401 → the token was
rejected (refresh and retry once), 403 → forbidden, 404, 409, 400/422 → invalid input,
429 → rate limited with the wait read from the provider's own headers (Retry-After, or a
reset time), 5xx → provider unavailable, answers that are not JSON. A provider adds only
`raise_for_body` for errors hidden in 200 answers (GraphQL `errors`, Slack `ok: false`).
"""

from __future__ import annotations

import email.utils
import time
from typing import Any

from django.conf import settings

from connections.errors import (
    ProviderUnavailable,
    TokenRejected,
    ToolConflict,
    ToolForbidden,
    ToolInvalid,
    ToolNotFound,
    ToolRateLimited,
)
from connections.providers.catalog import Provider
from core import outbound
from core.outbound import Response


def api_deadline() -> float:
    return float(settings.PROVIDER_HTTP_TIMEOUT_SECONDS)


def token_deadline() -> float:
    # Token endpoints get a separate, generous budget: a refresh that times out may have
    # rotated the refresh token at the provider, and its answer is the only copy.
    return float(settings.PROVIDER_TOKEN_TIMEOUT_SECONDS)


# --- Error mapping ------------------------------------------------------------------------


def retry_after(response: Response, provider: Provider | None) -> int | None:
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
    response: Response, *, provider: Provider | None, what: str, body: Any = None
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
) -> Response:
    """One request as the user, the answer returned as it is; a 401 raises TokenRejected."""
    response = outbound.send(
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
) -> tuple[Response, Any]:
    """A call to the provider's API as the user: auth header, default headers, mapped
    errors, then the provider's check of the body. Returns (response, parsed JSON)."""
    what = provider.display_name
    response = outbound.send(
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
    if provider.hooks.raise_for_body is not None:
        provider.hooks.raise_for_body(body, response, provider)
    raise_for_status(response, provider=provider, what=what, body=body)
    return response, body
