"""Notion, as the user who installed the public integration.

https://developers.notion.com/reference/create-a-token: the token call authenticates
the client with HTTP Basic and sends a JSON body. The answer carries the workspace
(`workspace_id`, `workspace_name`), the bot, and the person who authorized
(`owner.user`, their identity here). Refreshing returns a new access token and a new
refresh token (the old one stops working). There are no OAuth scopes: the
integration's capabilities apply, and the person picks which pages it may see —
a page they did not share is a 404. Every API call names its `Notion-Version`.
"""

from __future__ import annotations

from connections.providers.notion.tools import TOOLS, VERSION

__all__ = ["ENTRY", "TOOLS"]

ENTRY = {
    "key": "notion",
    "display_name": "Notion",
    "docs_url": "https://developers.notion.com/docs/authorization",
    "setup": {
        "register_url": "https://www.notion.so/profile/integrations",
        "notes": "Create a public integration with read, update and insert content "
        "capabilities; people choose the pages it may see when they connect.",
    },
    "oauth": {
        "authorize_url": "https://api.notion.com/v1/oauth/authorize",
        "token_url": "https://api.notion.com/v1/oauth/token",
        "authorize_params": {"owner": "user"},
        "scope_param": "",
        "pkce": "off",
        "client_auth": "client_secret_basic",
        "token_body": "json",
        "keep": {
            "workspace_id": "workspace_id",
            "workspace_name": "workspace_name",
            "bot_id": "bot_id",
        },
    },
    "refresh": {"rotates": True},
    "revoke": {
        "url": "https://api.notion.com/v1/oauth/revoke",
        "method": "POST",
        "auth": "client_secret_basic",
        "body": "json",
        "token_param": "token",
        "token": "access_token",
        "headers": {"Notion-Version": VERSION},
    },
    "api": {
        "base_url": "https://api.notion.com/v1",
        "headers": {"Notion-Version": VERSION},
        "rate_limit": {"retry_after": ["retry-after"]},
    },
    "whoami": {
        "source": "token",
        "id": "owner.user.id",
        "label": ["owner.user.person.email", "owner.user.name"],
    },
}
