"""How github's API answers: what the portal's hooks read from it."""

from __future__ import annotations

from typing import Any

from connections.errors import ToolInvalid, ToolRateLimited
from connections.providers.catalog import Provider
from connections.providers.http import retry_after
from core.outbound import Response


def raise_for_body(body: Any, response: Response, provider: Provider) -> None:
    """GitHub reports its rate limits as 403 (primary: x-ratelimit-remaining 0;
    secondary: a message and Retry-After), and validation failures with details."""
    if response.status_code == 403 and (
        response.headers.get("x-ratelimit-remaining") == "0"
        or "rate limit" in str((body or {}).get("message", "")).lower()
    ):
        raise ToolRateLimited(
            "GitHub rate limit reached; retry later.", retry_after=retry_after(response, provider)
        )
    if response.status_code == 422 and isinstance(body, dict):
        details = [
            f"{e.get('field', '')}: {e.get('code', '')} {e.get('message', '')}".strip()
            for e in body.get("errors", [])
            if isinstance(e, dict)
        ]
        raise ToolInvalid(
            f"GitHub refused the input: {body.get('message', 'Validation Failed')}"
            + (f" ({'; '.join(details)})" if details else "")
        )
