"""Slack, with the user's own token (OAuth v2, `user_scope`).

https://docs.slack.dev/authentication/installing-with-oauth: user scopes go in
`user_scope`, comma-separated; the user token comes back nested under `authed_user`
(the top level is the bot's, which this portal does not ask for). Client credentials
by HTTP Basic, as oauth.v2.access prefers. With token rotation on, user tokens expire
after 12 h and each refresh returns a new refresh token (the old one is revoked);
without it they never expire. `auth.revoke` revokes the token it is called with.

Every Web API error is HTTP 200 with `ok: false` and an error code; rate limits are
HTTP 429 with Retry-After. Tools see only what the user sees: a private channel the
user is not in is `channel_not_found`.
"""

from __future__ import annotations

from connections.providers.slack.api import raise_for_body
from connections.providers.slack.tools import TOOLS

__all__ = ["ENTRY", "TOOLS", "raise_for_body"]

ENTRY = {
    "key": "slack",
    "display_name": "Slack",
    "docs_url": "https://docs.slack.dev/authentication/installing-with-oauth",
    "setup": {
        "register_url": "https://api.slack.com/apps",
        "notes": "Create an app, add the redirect URI under OAuth & Permissions and the User "
        "Token Scopes below (not bot scopes). Token rotation is optional; both work.",
    },
    "oauth": {
        "authorize_url": "https://slack.com/oauth/v2/authorize",
        "token_url": "https://slack.com/api/oauth.v2.access",
        "scope_param": "user_scope",
        "scope_separator": ",",
        "default_scopes": [
            "channels:history",
            "channels:read",
            "chat:write",
            "groups:history",
            "groups:read",
            "reactions:write",
            "search:read",
            "users:read",
            "users:read.email",
        ],
        "scopes": {
            "channels:read": "List public channels.",
            "groups:read": "List private channels the user is in.",
            "channels:history": "Read messages of public channels.",
            "groups:history": "Read messages of private channels the user is in.",
            "chat:write": "Post messages as the user.",
            "search:read": "Search the user's messages and files.",
            "users:read": "Read people's profiles.",
            "users:read.email": "Read people's email addresses.",
            "reactions:write": "Add emoji reactions as the user.",
        },
        "pkce": "off",
        "client_auth": "client_secret_basic",
        "token_body": "form",
        "token_path": "authed_user",
        "keep": {"team_id": "team.id"},
    },
    "refresh": {"rotates": True},
    "revoke": {
        "url": "https://slack.com/api/auth.revoke",
        "method": "POST",
        "auth": "bearer",
        "body": "none",
    },
    "api": {"base_url": "https://slack.com/api", "rate_limit": {"retry_after": ["retry-after"]}},
    "whoami": {"path": "/auth.test", "id": "user_id", "label": ["user"]},
}
