"""How slack's API answers: what the portal's hooks read from it."""

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

TOKEN_ERRORS = {"not_authed", "invalid_auth", "token_revoked", "token_expired", "account_inactive"}


NOT_FOUND = {
    "channel_not_found",
    "user_not_found",
    "users_not_found",
    "message_not_found",
    "thread_not_found",
    "no_item_specified",
}


FORBIDDEN = {
    "not_in_channel",
    "restricted_action",
    "is_archived",
    "cant_post_message",
    "ekm_access_denied",
    "access_denied",
    "no_permission",
}


def raise_for_body(body: Any, response: Response, provider: Provider) -> None:
    if not isinstance(body, dict) or body.get("ok", True):
        return
    error = str(body.get("error") or "unknown_error")
    if error in TOKEN_ERRORS:
        raise TokenRejected()
    if error == "missing_scope":
        needed = body.get("needed") or ""
        raise ToolForbidden(
            f"Slack: the token lacks a scope ({needed or 'missing_scope'}).",
            code="insufficient_scope",
            details={"missing_scopes": [s for s in needed.split(",") if s]},
        )
    if error == "ratelimited":
        raise ToolRateLimited(
            "Slack rate limit reached.", retry_after=retry_after(response, provider)
        )
    if error in NOT_FOUND:
        raise ToolNotFound(f"Slack: {error} (not found, or not visible to this user).")
    if error in FORBIDDEN:
        raise ToolForbidden(f"Slack: the user may not do this ({error}).")
    if error.startswith("invalid_") or error in {"too_long", "no_text", "already_reacted"}:
        raise ToolInvalid(f"Slack refused the input: {error}.")
    raise ProviderUnavailable(f"Slack answered with an error: {error}.")
