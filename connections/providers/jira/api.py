"""How jira's API answers: what the portal's hooks read from it."""

from __future__ import annotations

from connections.errors import ToolNotFound
from connections.oauth_client import TokenResponse
from connections.tooling import ToolContext


def post_connect(ctx: ToolContext, token: TokenResponse) -> dict[str, str]:
    """The site this account works on: the connection's `site`, else the first granted."""
    sites = ctx.get("", absolute_url=ctx.origin_url("/oauth/token/accessible-resources"))
    wanted = ctx.values.get("site") or ""
    for site in sites or []:
        if not wanted or (site.get("url") or "").removeprefix("https://") == wanted:
            return {
                "cloud_id": site["id"],
                "site_url": site.get("url", ""),
                "site_name": site.get("name", ""),
            }
    raise ToolNotFound(f"Jira: this account granted no access to {wanted or 'any site'}.")
