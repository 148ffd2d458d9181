"""monday.com.

OAuth 2.1 flow (monday's "oauth_ms" endpoints): PKCE S256, expiring access
tokens, and a new refresh token on every refresh (the old one stops working).
The GraphQL API lives at https://api.monday.com/v2 and takes an `API-Version`
header (https://developer.monday.com/api-reference/docs/api-versioning).
"""

from __future__ import annotations

from connections.providers.monday.api import API_VERSION, raise_for_body
from connections.providers.monday.tools import TOOLS

__all__ = ["ENTRY", "TOOLS", "raise_for_body"]

SCOPES = (
    "me:read",
    "boards:read",
    "boards:write",
    "updates:read",
    "updates:write",
    "users:read",
    "workspaces:read",
    "account:read",
    "assets:read",
    "docs:read",
    "docs:write",
    "tags:read",
    "teams:read",
    "webhooks:read",
    "webhooks:write",
)

ENTRY = {
    "key": "monday",
    "display_name": "monday.com",
    "docs_url": "https://developer.monday.com/apps/docs/oauth",
    "setup": {
        "register_url": "https://monday.com/developers/apps",
        "notes": "Create an app, open OAuth & Permissions, add the scopes below and the "
        "redirect URI.",
    },
    "oauth": {
        "authorize_url": "https://auth.monday.com/oauth2/authorize",
        "token_url": "https://auth.monday.com/oauth_ms/oauth/token",
        "scope_separator": " ",
        "default_scopes": [
            "me:read",
            "boards:read",
            "boards:write",
            "updates:read",
            "updates:write",
            "users:read",
            "workspaces:read",
        ],
        "scopes": {scope: "" for scope in SCOPES},
        # monday's OAuth 2.1 ("oauth_ms") endpoints: PKCE S256.
        "pkce": "required",
        "client_auth": "client_secret_post",
        "token_body": "form",
    },
    "refresh": {"rotates": True},
    "revoke": {
        "url": "https://auth.monday.com/oauth_ms/oauth/revoke",
        "method": "POST",
        "auth": "client_secret_post",
        "body": "form",
        "token_param": "token",
        "token": "refresh_token",
    },
    "api": {
        "base_url": "https://api.monday.com/v2",
        "headers": {"API-Version": API_VERSION},
        # monday takes the token itself, no "Bearer".
        "auth_header": "raw",
        "rate_limit": {"retry_after": ["retry-after"]},
    },
    "whoami": {
        "method": "POST",
        "path": "",
        "json": {"query": "query { me { id name email } }"},
        "id": "data.me.id",
        "label": ["data.me.email", "data.me.name"],
    },
}
