"""GitHub: OAuth Apps and GitHub App user tokens, the REST API as the user.

OAuth (https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps):
the token endpoint answers form-encoded unless asked for JSON (`Accept`); PKCE S256
is supported since 2025-07. OAuth App tokens do not expire; GitHub App user tokens
expire after 8 h and their refresh rotates: "Once you use a refresh token, that
refresh token and the old user access token will no longer work". Revocation is
`DELETE /applications/{client_id}/grant` with Basic client credentials, which drops
the grant and all its tokens. For GitHub Enterprise Server set the hostname and the
API base override (https://<host>/api/v3).

Tools act with the user's own access: a private repository the user cannot see is a
404 (GitHub hides it), not a 403.
"""

from __future__ import annotations

from connections.providers.github.api import raise_for_body
from connections.providers.github.tools import TOOLS

__all__ = ["ENTRY", "TOOLS", "raise_for_body"]

ENTRY = {
    "key": "github",
    "display_name": "GitHub",
    "docs_url": "https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps",
    "setup": {
        "register_url": "https://github.com/settings/applications/new",
        "notes": "Create an OAuth App (or a GitHub App with user tokens: its permissions "
        "apply instead of scopes; keep the default scopes here).",
    },
    "settings": [
        {
            "name": "hostname",
            "label": "Host name",
            "default": "github.com",
            "pattern": r"^[a-z0-9.-]+(:[0-9]{1,5})?$",
            "help": "github.com, or your GitHub Enterprise Server host (then set the API base "
            "URL override to https://<host>/api/v3).",
        }
    ],
    "oauth": {
        "authorize_url": "https://{hostname}/login/oauth/authorize",
        "token_url": "https://{hostname}/login/oauth/access_token",
        "scope_separator": " ",
        "default_scopes": ["read:user", "repo"],
        "scopes": {
            "repo": "Read and write public and private repositories, issues and pull requests.",
            "public_repo": "Public repositories only.",
            "read:user": "Read the user's profile.",
            "user:email": "Read the user's email addresses.",
            "read:org": "Read organization membership.",
        },
        "pkce": "supported",
        "client_auth": "client_secret_post",
        "token_body": "form",
        # Without it GitHub answers form-encoded (its Content-Type is known to lie too).
        "token_accept": "application/json",
    },
    "refresh": {"rotates": True},
    "revoke": {
        "url": "https://api.github.com/applications/{client_id}/grant",
        "method": "DELETE",
        "auth": "client_secret_basic",
        "body": "json",
        "token_param": "access_token",
        "token": "access_token",
    },
    "api": {
        "base_url": "https://api.github.com",
        "headers": {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        },
        "rate_limit": {
            "retry_after": ["retry-after"],
            "reset": ["x-ratelimit-reset"],
            "remaining": "x-ratelimit-remaining",
        },
    },
    "whoami": {"path": "/user", "id": "id", "label": ["login", "email"]},
}
