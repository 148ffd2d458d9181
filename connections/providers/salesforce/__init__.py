"""Salesforce, through its REST API on the org's own instance.

https://help.salesforce.com/s/articleView?id=remoteaccess_oauth_web_server_flow.htm: the
login host is per connection (login.salesforce.com, test.salesforce.com for sandboxes,
or a My Domain). The token answer has **no `expires_in`**: the session lasts the org's
timeout (two hours by default), so the portal assumes two hours and refreshes on a 401
(`INVALID_SESSION_ID`) too. The API lives on the answer's `instance_url`. Refresh-token
rotation is an org setting: a returned refresh token is always kept.
"""

from __future__ import annotations

from connections.providers.salesforce.tools import API_VERSION, TOOLS

__all__ = ["ENTRY", "TOOLS"]

ENTRY = {
    "key": "salesforce",
    "display_name": "Salesforce",
    "docs_url": "https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm",
    "setup": {
        "register_url": "https://login.salesforce.com/lightning/setup/NavigationMenus/home",
        "notes": "In Setup, create an External Client App (or Connected App) with OAuth, the "
        "callback URL and the scopes api and refresh_token; require PKCE if you like.",
    },
    "settings": [
        {
            "name": "login_host",
            "label": "Login host",
            "default": "login.salesforce.com",
            "pattern": r"^[a-z0-9.-]+\.(salesforce|force)\.com$",
            "help": "login.salesforce.com, test.salesforce.com (sandbox) or your My Domain "
            "(acme.my.salesforce.com).",
        }
    ],
    "oauth": {
        "authorize_url": "https://{login_host}/services/oauth2/authorize",
        "token_url": "https://{login_host}/services/oauth2/token",
        "scope_separator": " ",
        "default_scopes": ["api", "refresh_token"],
        "scopes": {
            "api": "Use the REST API as the user.",
            "refresh_token": "Keep access (a refresh token).",
            "id": "Read the user's identity.",
        },
        "pkce": "supported",
        "client_auth": "client_secret_post",
        "token_body": "form",
        "keep": {"instance_url": "instance_url"},
    },
    "refresh": {"rotates": "maybe", "default_lifetime_seconds": 7200},
    "revoke": {
        "url": "https://{login_host}/services/oauth2/revoke",
        "method": "POST",
        "auth": "none",
        "body": "form",
        "token_param": "token",
        "token": "refresh_token",
    },
    "api": {
        "base_url": "{instance_url}/services/data/" + API_VERSION,
        "rate_limit": {"retry_after": ["retry-after"]},
    },
    "whoami": {
        "url": "{instance_url}/services/oauth2/userinfo",
        "id": "user_id",
        "label": ["email", "preferred_username"],
    },
}
