"""Jira Cloud, through Atlassian's OAuth 2.0 (3LO) and its API gateway.

https://developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/: the authorize URL
carries `audience=api.atlassian.com` and `prompt=consent`; `offline_access` brings a
refresh token. Refresh tokens rotate, and the previous pair stays valid for a 10-minute
grace; they expire after 90 days without use (hence the keep-alive refresh). There is
no per-token revocation. A token works only through the gateway,
`https://api.atlassian.com/ex/jira/{cloud_id}`: after the exchange the portal asks
`/oauth/token/accessible-resources` which sites the person granted and keeps one
(`post_connect`). Descriptions and comments are Atlassian Document Format.
"""

from __future__ import annotations

from connections.providers.jira.api import post_connect
from connections.providers.jira.tools import TOOLS

__all__ = ["ENTRY", "TOOLS", "post_connect"]

ENTRY = {
    "key": "jira",
    "display_name": "Jira Cloud",
    "docs_url": "https://developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/",
    "setup": {
        "register_url": "https://developer.atlassian.com/console/myapps/",
        "notes": "Create an OAuth 2.0 integration, add the Jira API permissions below and the "
        "callback URL.",
    },
    "settings": [
        {
            "name": "site",
            "label": "Site",
            "default": "",
            "pattern": r"^([a-z0-9-]+\.atlassian\.net)?$",
            "help": "Which site to use when a person grants several (e.g. acme.atlassian.net); "
            "empty: the first.",
        }
    ],
    "oauth": {
        "authorize_url": "https://auth.atlassian.com/authorize",
        "token_url": "https://auth.atlassian.com/oauth/token",
        "authorize_params": {"audience": "api.atlassian.com", "prompt": "consent"},
        "scope_separator": " ",
        "default_scopes": ["offline_access", "read:jira-user", "read:jira-work", "write:jira-work"],
        "scopes": {
            "offline_access": "Keep access (a refresh token).",
            "read:jira-work": "Read issues, projects and search.",
            "write:jira-work": "Create and change issues and comments.",
            "read:jira-user": "Read user information.",
        },
        "pkce": "off",
        "client_auth": "client_secret_post",
        "token_body": "json",
    },
    "refresh": {"rotates": True, "reuse_grace_seconds": 600, "keepalive_days": 80},
    "revoke": None,
    "post_connect": {"keeps": ["cloud_id", "site_url", "site_name"]},
    "api": {
        "base_url": "https://api.atlassian.com/ex/jira/{cloud_id}",
        "rate_limit": {"retry_after": ["retry-after"], "reset": ["x-ratelimit-reset"]},
    },
    "whoami": {
        "path": "/rest/api/3/myself",
        "id": "accountId",
        "label": ["emailAddress", "displayName"],
    },
}
