"""How hubspot's API answers: what the portal's hooks read from it."""

from __future__ import annotations

from urllib.parse import quote

from connections.oauth_client import TokenResponse
from connections.tooling import ToolContext


def fetch_identity(ctx: ToolContext, token: TokenResponse) -> tuple[str, str]:
    info = ctx.get(f"/oauth/v1/access-tokens/{quote(ctx.access_token, safe='')}")
    return str(info.get("user_id") or ""), str(info.get("user") or "")
