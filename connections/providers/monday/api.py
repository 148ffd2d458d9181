"""monday's GraphQL API: one operation at a time, and its errors (inside 200 answers)
mapped to the portal's (`raise_for_body`, the package's hook)."""

from __future__ import annotations

import re
from typing import Any

from connections.errors import (
    ProviderUnavailable,
    ToolForbidden,
    ToolInvalid,
    ToolNotFound,
    ToolRateLimited,
)
from connections.providers.catalog import Provider
from connections.tooling import ToolContext
from core.outbound import Response

API_VERSION = "2025-04"

NOT_FOUND_CODES = {
    "InvalidBoardIdException",
    "InvalidItemIdException",
    "ResourceNotFoundException",
    "ItemNotFoundException",
    "BoardNotFoundException",
}


def graphql(ctx: ToolContext, query: str, variables: dict[str, Any] | None = None) -> dict:
    """POST one GraphQL operation; return `data` (errors are mapped by raise_for_body)."""
    body = ctx.post("", json={"query": query, "variables": variables or {}})
    return (body or {}).get("data") or {}


INVALID_INPUT_CODES = {
    "ColumnValueException",
    "InvalidColumnIdException",
    "InvalidGroupIdException",
    "InvalidArgumentException",
    "CorrectedValueException",
}


RATE_LIMIT_CODES = {
    "COMPLEXITY_BUDGET_EXHAUSTED",
    "ComplexityException",
    "RateLimitExceeded",
    "RATE_LIMIT_EXCEEDED",
    "maxConcurrencyExceeded",
    "IP_RATE_LIMIT_EXCEEDED",
}


FORBIDDEN_CODES = {"UserUnauthorizedException", "missingRequiredPermissions", "Forbidden"}


SCOPE_IN_MESSAGE = re.compile(r"\b([a-z]+:(?:read|write))\b")


def raise_for_body(body: Any, response: Response, provider: Provider) -> None:
    """monday reports application errors as HTTP 200 with `errors[]`
    (https://developer.monday.com/api-reference/docs/error-handling); older ones as
    `{error_code, error_message}`."""
    if not isinstance(body, dict):
        if response.status_code < 400:
            raise ProviderUnavailable("monday.com sent an answer that is not an object.")
        return
    errors = body.get("errors") or ([body] if body.get("error_code") else [])
    if errors:
        _raise_for(errors[0], response)


def _int(value: Any) -> int | None:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _raise_for(error: Any, response: Response) -> None:
    if isinstance(error, str):  # the legacy ComplexityException shape lists plain strings
        error = {"message": error}
    extensions = error.get("extensions") or {}
    code = extensions.get("code") or error.get("error_code") or ""
    message = str(error.get("message") or error.get("error_message") or code or "error")[:300]
    status = extensions.get("status_code") or error.get("status_code")
    if code in RATE_LIMIT_CODES or status == 429:
        retry = extensions.get("retry_in_seconds") or response.headers.get("Retry-After")
        if retry is None and "reset in" in message:
            retry = message.rsplit("reset in", 1)[1].split()[0]
        raise ToolRateLimited(f"monday.com rate limit: {message}", retry_after=_int(retry))
    if code in FORBIDDEN_CODES or status == 403 or "scope" in message.lower():
        scope = SCOPE_IN_MESSAGE.search(message)
        raise ToolForbidden(
            "The connected account may not do this"
            + (f" (missing scope {scope.group(1)})" if scope else "")
            + f": {message}",
            details={"provider_code": code, "scope": scope.group(1) if scope else None},
        )
    if code in NOT_FOUND_CODES or status == 404:
        raise ToolNotFound(f"monday.com: {message}", details={"provider_code": code})
    if code in INVALID_INPUT_CODES or status in (400, 422):
        raise ToolInvalid(
            f"monday.com refused the input: {message}", details={"provider_code": code}
        )
    raise ProviderUnavailable(f"monday.com answered with an error: {message}")
