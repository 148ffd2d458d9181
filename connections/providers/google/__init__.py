"""Google Workspace: Gmail, Calendar and Drive through one OAuth app.

https://developers.google.com/identity/protocols/oauth2/web-server: `access_type=offline`
gets a refresh token, `prompt=consent` gets one on every consent (Google sends it only
on the first otherwise), `include_granted_scopes=true` adds to earlier grants. Refresh
tokens do not rotate (the answer carries none; the one we hold is kept) and die after
six months unused, hence a keep-alive refresh. Consent is granular: a person may grant
only some scopes, the token answer lists those, and only the tools they allow are
offered. Errors are `{"error": {"code", "message", "errors": [{"reason"}]}}`; the
per-user rate limit is a 403 with reason rateLimitExceeded.
"""

from __future__ import annotations

from connections.providers.google.api import raise_for_body
from connections.providers.google.tools import (
    CALENDAR_EVENTS,
    CALENDAR_READ,
    DRIVE_READ,
    GMAIL_COMPOSE,
    GMAIL_READ,
    GMAIL_SEND,
    TOOLS,
)

__all__ = ["ENTRY", "TOOLS", "raise_for_body"]

ENTRY = {
    "key": "google",
    "display_name": "Google Workspace",
    "docs_url": "https://developers.google.com/identity/protocols/oauth2/web-server",
    "setup": {
        "register_url": "https://console.cloud.google.com/apis/credentials",
        "notes": "Create an OAuth client (Web application), enable the Gmail, Calendar and "
        "Drive APIs; most Gmail scopes need Google's verification before going live.",
    },
    "tool_prefixes": ["gmail", "gcal", "gdrive"],
    "oauth": {
        "authorize_url": "https://accounts.google.com/o/oauth2/v2/auth",
        "token_url": "https://oauth2.googleapis.com/token",
        "authorize_params": {
            "access_type": "offline",
            "prompt": "consent",
            "include_granted_scopes": "true",
        },
        "scope_separator": " ",
        "default_scopes": [
            "openid",
            "email",
            GMAIL_READ,
            GMAIL_COMPOSE,
            GMAIL_SEND,
            CALENDAR_READ,
            CALENDAR_EVENTS,
            DRIVE_READ,
        ],
        "scopes": {
            "openid": "Sign-in identity.",
            "email": "The account's email address.",
            "profile": "The account's name and picture.",
            GMAIL_READ: "Read mail.",
            GMAIL_COMPOSE: "Create drafts.",
            GMAIL_SEND: "Send mail as the user.",
            CALENDAR_READ: "Read calendars.",
            CALENDAR_EVENTS: "Create and change events.",
            DRIVE_READ: "Read Drive files.",
        },
        "pkce": "supported",
        "client_auth": "client_secret_post",
        "token_body": "form",
        # Google sends RFC 9207 `iss` on its authorization responses.
        "issuer": "https://accounts.google.com",
    },
    "refresh": {"rotates": False, "keepalive_days": 60},
    "revoke": {
        "url": "https://oauth2.googleapis.com/revoke",
        "method": "POST",
        "auth": "none",
        "body": "form",
        "token_param": "token",
        "token": "refresh_token",
    },
    "api": {
        "base_url": "https://www.googleapis.com",
        "rate_limit": {"retry_after": ["retry-after"]},
    },
    "whoami": {"path": "/oauth2/v3/userinfo", "id": "sub", "label": ["email", "name"]},
}
