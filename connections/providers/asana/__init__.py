"""Asana, through its REST API as the user.

https://developers.asana.com/docs/oauth: the `default` scope is the user's full access
(granular scopes exist; this tool set asks for `default`). PKCE S256 is supported.
Access tokens last an hour; refresh tokens are long-lived and do not rotate (the
refresh answer carries none). `POST /-/oauth_revoke` with the client credentials
revokes. Every answer wraps its object in `data`; errors are `{"errors": [...]}`.
"""

from __future__ import annotations

from connections.providers.asana.tools import TOOLS

__all__ = ["ENTRY", "TOOLS"]

ENTRY = {
    "key": "asana",
    "display_name": "Asana",
    "docs_url": "https://developers.asana.com/docs/oauth",
    "setup": {
        "register_url": "https://app.asana.com/0/my-apps",
        "notes": "Create an app, add the redirect URI under OAuth, and allow full permissions "
        "(the default scope).",
    },
    "oauth": {
        "authorize_url": "https://app.asana.com/-/oauth_authorize",
        "token_url": "https://app.asana.com/-/oauth_token",
        "scope_separator": " ",
        "default_scopes": ["default"],
        "scopes": {"default": "Everything the user can do in Asana."},
        "pkce": "supported",
        "client_auth": "client_secret_post",
        "token_body": "form",
    },
    "refresh": {"rotates": False},
    "revoke": {
        "url": "https://app.asana.com/-/oauth_revoke",
        "method": "POST",
        "auth": "client_secret_post",
        "body": "form",
        "token_param": "token",
        "token": "refresh_token",
    },
    "api": {
        "base_url": "https://app.asana.com/api/1.0",
        "rate_limit": {"retry_after": ["retry-after"]},
    },
    "whoami": {"path": "/users/me", "id": "data.gid", "label": ["data.email", "data.name"]},
}
