"""HubSpot CRM, as the user who installed the app.

https://developers.hubspot.com/docs/api-reference/auth-oauth-v3/guide: the date-based
OAuth endpoints (`/oauth/2026-03/token`, `…/token/revoke`) replace v1, which is retired
on 2027-02-16; parameters go in the form body. Access tokens last 30 minutes; refresh
tokens are long-lived and not rotated. The token answer carries the account (`hub_id`);
who the user is comes from the token's own metadata (`fetch_identity`).
"""

from __future__ import annotations

from connections.providers.hubspot.api import fetch_identity
from connections.providers.hubspot.tools import READ, TOOLS, WRITE

__all__ = ["ENTRY", "TOOLS", "fetch_identity"]

ENTRY = {
    "key": "hubspot",
    "display_name": "HubSpot",
    "docs_url": "https://developers.hubspot.com/docs/api-reference/auth-oauth-v3/guide",
    "setup": {
        "register_url": "https://app.hubspot.com/developer",
        "notes": "Create an app (legacy or project), set the redirect URL and the required "
        "scopes below exactly: HubSpot refuses installs whose scopes differ.",
    },
    "oauth": {
        "authorize_url": "https://app.hubspot.com/oauth/authorize",
        "token_url": "https://api.hubapi.com/oauth/2026-03/token",
        "scope_separator": " ",
        "default_scopes": ["oauth", READ, WRITE],
        "scopes": {
            "oauth": "Required by HubSpot for every app.",
            READ: "Read contacts.",
            WRITE: "Create and change contacts and their notes.",
        },
        "pkce": "supported",
        "client_auth": "client_secret_post",
        "token_body": "form",
        "keep": {"hub_id": "hub_id"},
    },
    "refresh": {"rotates": False},
    "revoke": {
        "url": "https://api.hubapi.com/oauth/2026-03/token/revoke",
        "method": "POST",
        "auth": "client_secret_post",
        "body": "form",
        "token_param": "token",
        "token": "refresh_token",
    },
    "api": {
        "base_url": "https://api.hubapi.com",
        "rate_limit": {
            "retry_after": ["retry-after"],
            "remaining": "x-hubspot-ratelimit-remaining",
        },
    },
    # fetch_identity below: the user is in the token's metadata, addressed by the token.
    "whoami": {"id": "user_id", "label": ["user"]},
}
