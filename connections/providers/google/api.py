"""How google's API answers: what the portal's hooks read from it."""

from __future__ import annotations

from typing import Any

from connections.errors import ToolRateLimited
from connections.providers.catalog import Provider
from connections.providers.http import retry_after
from core.outbound import Response

RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"}


def raise_for_body(body: Any, response: Response, provider: Provider) -> None:
    """Google's per-user rate limits come as 403 with a reason, not 429."""
    error = body.get("error") if isinstance(body, dict) else None
    if response.status_code == 403 and isinstance(error, dict):
        reasons = {e.get("reason") for e in error.get("errors") or [] if isinstance(e, dict)}
        if reasons & RATE_REASONS:
            raise ToolRateLimited(
                f"Google rate limit: {error.get('message', '')[:200]}",
                retry_after=retry_after(response, provider),
            )
