"""How linear's API answers: what the portal's hooks read from it."""

from __future__ import annotations

from typing import Any

from connections.errors import (
    ProviderUnavailable,
    TokenRejected,
    ToolForbidden,
    ToolInvalid,
    ToolNotFound,
    ToolRateLimited,
)
from connections.providers.catalog import Provider
from connections.providers.http import retry_after
from core.outbound import Response


def raise_for_body(body: Any, response: Response, provider: Provider) -> None:
    errors = body.get("errors") if isinstance(body, dict) else None
    if not errors:
        return
    error = errors[0] if isinstance(errors[0], dict) else {"message": str(errors[0])}
    extensions = error.get("extensions") or {}
    kind = str(extensions.get("type") or extensions.get("code") or "").lower()
    message = str(extensions.get("userPresentableMessage") or error.get("message") or kind)[:300]
    if "authentication" in kind:
        raise TokenRejected()
    if "ratelimit" in kind.replace(" ", ""):
        raise ToolRateLimited(
            f"Linear rate limit: {message}", retry_after=retry_after(response, provider)
        )
    if "forbidden" in kind:
        raise ToolForbidden(f"Linear: the user may not do this: {message}")
    if "not found" in message.lower() or "not_found" in kind:
        raise ToolNotFound(f"Linear: {message}")
    if "invalid" in kind or "validation" in kind or "argument" in kind:
        raise ToolInvalid(f"Linear refused the input: {message}")
    raise ProviderUnavailable(f"Linear answered with an error: {message}")
