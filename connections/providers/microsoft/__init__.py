"""Microsoft 365 through Microsoft Graph (Entra ID v2 endpoints).

https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow: the
tenant is part of every URL (`common` for work and personal accounts, `organizations`,
`consumers`, or a tenant id or domain). `offline_access` brings a refresh token.
"Refresh tokens replace themselves with a fresh token upon every use. The Microsoft
identity platform doesn't revoke old refresh tokens" — so the new one is kept, and the
old one stays usable for its lifetime (modelled as a reuse grace of 90 days). A refresh
token unused for 90 days dies: the portal refreshes at least every 80 days. There is no
per-token revocation endpoint (only revokeSignInSessions, which signs the user out
everywhere), so disconnect erases the tokens here.
"""

from __future__ import annotations

from connections.providers.microsoft.tools import TOOLS

__all__ = ["ENTRY", "TOOLS"]

ENTRY = {
    "key": "microsoft",
    "display_name": "Microsoft 365",
    "docs_url": "https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow",
    "setup": {
        "register_url": "https://entra.microsoft.com/#view/Microsoft_AAD_RegisteredApps/ApplicationsListBlade",
        "notes": "Register an application (Web platform), add the redirect URI, create a "
        "client secret, and add the delegated Graph permissions below.",
    },
    "tool_prefixes": ["outlook", "teams"],
    "settings": [
        {
            "name": "tenant",
            "label": "Tenant",
            "default": "common",
            "pattern": r"^[A-Za-z0-9.-]{1,100}$",
            "help": "common (work and personal accounts), organizations, consumers, or your "
            "tenant id or domain.",
        }
    ],
    "oauth": {
        "authorize_url": "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize",
        "token_url": "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
        "authorize_params": {"response_mode": "query"},
        "scope_separator": " ",
        "default_scopes": [
            "offline_access",
            "User.Read",
            "Mail.Read",
            "Mail.Send",
            "Calendars.ReadWrite",
            "Chat.ReadWrite",
        ],
        "scopes": {
            "offline_access": "Keep access (a refresh token).",
            "User.Read": "Sign in and read the user's profile.",
            "Mail.Read": "Read the user's mail.",
            "Mail.Send": "Send mail as the user.",
            "Calendars.ReadWrite": "Read and write the user's calendars.",
            "Chat.ReadWrite": "Read and send the user's Teams chat messages.",
        },
        "pkce": "supported",
        "client_auth": "client_secret_post",
        "token_body": "form",
    },
    "refresh": {"rotates": True, "reuse_grace_seconds": 90 * 86400, "keepalive_days": 80},
    "revoke": None,
    "api": {
        "base_url": "https://graph.microsoft.com/v1.0",
        "rate_limit": {"retry_after": ["retry-after"]},
    },
    "whoami": {"path": "/me", "id": "id", "label": ["mail", "userPrincipalName"]},
}
