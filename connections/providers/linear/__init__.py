"""Linear, through its GraphQL API as the user.

https://linear.app/developers/oauth-2-0-authentication: scopes are comma-separated
(read, write, issues:create, comments:create, admin); access tokens last 24 hours and
refresh tokens rotate (mandatory for every app since 2026-04-01). Revocation is
`POST /oauth/revoke` with the token as bearer. GraphQL errors come in 200 answers
with `extensions.type` (authentication error, forbidden, ratelimited, invalid input);
rate limits also show in `X-RateLimit-Requests-Reset` (epoch milliseconds).
"""

from __future__ import annotations

from connections.providers.linear.api import raise_for_body
from connections.providers.linear.tools import TOOLS

__all__ = ["ENTRY", "TOOLS", "raise_for_body"]

ENTRY = {
    "key": "linear",
    "display_name": "Linear",
    "docs_url": "https://linear.app/developers/oauth-2-0-authentication",
    "setup": {
        "register_url": "https://linear.app/settings/api/applications/new",
        "notes": "Create an OAuth application and add the redirect URI.",
    },
    "oauth": {
        "authorize_url": "https://linear.app/oauth/authorize",
        "token_url": "https://api.linear.app/oauth/token",
        "authorize_params": {"prompt": "consent"},
        "scope_separator": ",",
        "default_scopes": ["read", "write"],
        "scopes": {
            "read": "Read the workspace's teams, issues and comments.",
            "write": "Create and change issues and comments as the user.",
            "issues:create": "Only create issues.",
            "comments:create": "Only create comments.",
        },
        "pkce": "off",
        "client_auth": "client_secret_post",
        "token_body": "form",
    },
    "refresh": {"rotates": True},
    "revoke": {
        "url": "https://api.linear.app/oauth/revoke",
        "method": "POST",
        "auth": "bearer",
        "body": "none",
    },
    "api": {
        "base_url": "https://api.linear.app/graphql",
        "rate_limit": {
            "retry_after": ["retry-after"],
            "reset": ["x-ratelimit-requests-reset"],
            "remaining": "x-ratelimit-requests-remaining",
        },
    },
    "whoami": {
        "method": "POST",
        "path": "",
        "json": {"query": "query { viewer { id name email } }"},
        "id": "data.viewer.id",
        "label": ["data.viewer.email", "data.viewer.name"],
    },
}
