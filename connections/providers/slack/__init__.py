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

from typing import Any

from connections.errors import (
    ProviderUnavailable,
    TokenRejected,
    ToolForbidden,
    ToolInvalid,
    ToolNotFound,
    ToolRateLimited,
)
from connections.providers.catalog import Provider
from connections.providers.http import retry_after
from connections.providers.schema import compact, limit, obj, required_text, text
from connections.tooling import Tool, ToolContext
from core.outbound import Response

CHANNEL = required_text(
    "A channel: its id (C0123…) or its name (general or #general).", max_length=100
)
TS = required_text("A message's ts, e.g. 1712345678.123456.", max_length=40, pattern=r"^\d+\.\d+$")

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

TOKEN_ERRORS = {"not_authed", "invalid_auth", "token_revoked", "token_expired", "account_inactive"}
NOT_FOUND = {
    "channel_not_found",
    "user_not_found",
    "users_not_found",
    "message_not_found",
    "thread_not_found",
    "no_item_specified",
}
FORBIDDEN = {
    "not_in_channel",
    "restricted_action",
    "is_archived",
    "cant_post_message",
    "ekm_access_denied",
    "access_denied",
    "no_permission",
}


def raise_for_body(body: Any, response: Response, provider: Provider) -> None:
    if not isinstance(body, dict) or body.get("ok", True):
        return
    error = str(body.get("error") or "unknown_error")
    if error in TOKEN_ERRORS:
        raise TokenRejected()
    if error == "missing_scope":
        needed = body.get("needed") or ""
        raise ToolForbidden(
            f"Slack: the token lacks a scope ({needed or 'missing_scope'}).",
            code="insufficient_scope",
            details={"missing_scopes": [s for s in needed.split(",") if s]},
        )
    if error == "ratelimited":
        raise ToolRateLimited(
            "Slack rate limit reached.", retry_after=retry_after(response, provider)
        )
    if error in NOT_FOUND:
        raise ToolNotFound(f"Slack: {error} (not found, or not visible to this user).")
    if error in FORBIDDEN:
        raise ToolForbidden(f"Slack: the user may not do this ({error}).")
    if error.startswith("invalid_") or error in {"too_long", "no_text", "already_reacted"}:
        raise ToolInvalid(f"Slack refused the input: {error}.")
    raise ProviderUnavailable(f"Slack answered with an error: {error}.")


def _channel_id(ctx: ToolContext, channel: str) -> str:
    """A channel id from an id or a name the user can see (their channels, public or not)."""
    name = channel.lstrip("#")
    if channel.startswith(("C", "G", "D")) and channel.isupper() and channel.isalnum():
        return channel
    cursor = None
    for _ in range(10):  # at most 10 pages of 200 channels
        page = ctx.get(
            "/conversations.list",
            params={
                "types": "public_channel,private_channel",
                "exclude_archived": True,
                "limit": 200,
                "cursor": cursor,
            },
        )
        for found in page.get("channels") or []:
            if found.get("name") == name:
                return found["id"]
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    raise ToolNotFound(f"Slack: no channel named {name!r} that this user can see.")


def _message(raw: dict) -> dict[str, Any]:
    return compact(
        {
            "ts": raw.get("ts"),
            "user": raw.get("user") or raw.get("username"),
            "text": (raw.get("text") or "")[:2000],
            "thread_ts": raw.get("thread_ts"),
            "replies": raw.get("reply_count"),
        }
    )


def list_channels(ctx: ToolContext, params: dict) -> dict:
    page = ctx.get(
        "/conversations.list",
        params={
            "types": "public_channel,private_channel",
            "exclude_archived": True,
            "limit": params.get("limit", 100),
            "cursor": params.get("cursor"),
        },
    )
    return compact(
        {
            "channels": [
                compact(
                    {
                        "id": c.get("id"),
                        "name": c.get("name"),
                        "private": c.get("is_private"),
                        "member": c.get("is_member"),
                        "topic": (c.get("topic") or {}).get("value"),
                        "members": c.get("num_members"),
                    }
                )
                for c in page.get("channels") or []
            ],
            "next_cursor": (page.get("response_metadata") or {}).get("next_cursor"),
        }
    )


def get_channel_history(ctx: ToolContext, params: dict) -> dict:
    channel = _channel_id(ctx, params["channel"])
    page = ctx.get(
        "/conversations.history",
        params={
            "channel": channel,
            "limit": params.get("limit", 20),
            "oldest": params.get("oldest"),
        },
    )
    return {"channel": channel, "messages": [_message(m) for m in page.get("messages") or []]}


def _post(ctx: ToolContext, channel: str, text_: str, thread_ts: str | None = None) -> dict:
    body = {"channel": _channel_id(ctx, channel), "text": text_}
    if thread_ts:
        body["thread_ts"] = thread_ts
    posted = ctx.post("/chat.postMessage", json=body)
    return compact(
        {"channel": posted.get("channel"), "ts": posted.get("ts"), "thread_ts": thread_ts}
    )


def post_message(ctx: ToolContext, params: dict) -> dict:
    return _post(ctx, params["channel"], params["text"])


def reply_in_thread(ctx: ToolContext, params: dict) -> dict:
    return _post(ctx, params["channel"], params["text"], params["thread_ts"])


def search_messages(ctx: ToolContext, params: dict) -> dict:
    found = ctx.get(
        "/search.messages", params={"query": params["query"], "count": params.get("limit", 20)}
    )
    messages = found.get("messages") or {}
    return {
        "total": messages.get("total"),
        "matches": [
            compact(
                {
                    "channel": (m.get("channel") or {}).get("name"),
                    "channel_id": (m.get("channel") or {}).get("id"),
                    "user": m.get("username") or m.get("user"),
                    "text": (m.get("text") or "")[:1000],
                    "ts": m.get("ts"),
                    "permalink": m.get("permalink"),
                }
            )
            for m in messages.get("matches") or []
        ],
    }


def get_user(ctx: ToolContext, params: dict) -> dict:
    who = params["user"]
    if "@" in who:
        user = ctx.get("/users.lookupByEmail", params={"email": who}).get("user") or {}
    else:
        user = ctx.get("/users.info", params={"user": who}).get("user") or {}
    profile = user.get("profile") or {}
    return compact(
        {
            "id": user.get("id"),
            "name": user.get("real_name") or profile.get("real_name") or user.get("name"),
            "display_name": profile.get("display_name"),
            "email": profile.get("email"),
            "title": profile.get("title"),
            "time_zone": user.get("tz"),
            "bot": user.get("is_bot"),
        }
    )


def add_reaction(ctx: ToolContext, params: dict) -> dict:
    channel = _channel_id(ctx, params["channel"])
    ctx.post(
        "/reactions.add",
        json={"channel": channel, "timestamp": params["ts"], "name": params["emoji"].strip(":")},
    )
    return {"channel": channel, "ts": params["ts"], "reaction": params["emoji"].strip(":")}


MESSAGE_TEXT = required_text("The message (Slack mrkdwn).", max_length=40_000)

TOOLS = (
    Tool(
        name="slack_list_channels",
        description="Channels the user can see (public, and private ones they are in): id, "
        "name, whether they are a member, topic. Use next_cursor for more.",
        input_schema=obj(
            {
                "limit": limit(100, 1000),
                "cursor": text("next_cursor of the previous page.", max_length=500),
            }
        ),
        required_scopes=("channels:read", "groups:read"),
        write=False,
        handler=list_channels,
    ),
    Tool(
        name="slack_get_channel_history",
        description="The latest messages of a channel the user can read, newest first: ts, "
        "user, text, thread info. Pass a ts as oldest to read only newer ones.",
        input_schema=obj(
            {
                "channel": CHANNEL,
                "limit": limit(20, 200),
                "oldest": text(
                    "Only messages after this ts.", max_length=40, pattern=r"^\d+(\.\d+)?$"
                ),
            },
            ["channel"],
        ),
        required_scopes=("channels:history", "groups:history"),
        write=False,
        handler=get_channel_history,
    ),
    Tool(
        name="slack_post_message",
        description="Post a message to a channel as the user. Returns the message's ts (use it "
        "to reply in its thread or react).",
        input_schema=obj({"channel": CHANNEL, "text": MESSAGE_TEXT}, ["channel", "text"]),
        required_scopes=("chat:write",),
        write=True,
        handler=post_message,
    ),
    Tool(
        name="slack_reply_in_thread",
        description="Reply in the thread of a message (its ts) as the user.",
        input_schema=obj(
            {"channel": CHANNEL, "thread_ts": TS, "text": MESSAGE_TEXT},
            ["channel", "thread_ts", "text"],
        ),
        required_scopes=("chat:write",),
        write=True,
        handler=reply_in_thread,
    ),
    Tool(
        name="slack_search_messages",
        description="Search the messages the user can see with Slack's search syntax, e.g. "
        "'launch in:#marketing from:@ana after:2026-11-01'.",
        input_schema=obj(
            {
                "query": required_text("Slack search query.", max_length=500),
                "limit": limit(20, 100),
            },
            ["query"],
        ),
        required_scopes=("search:read",),
        write=False,
        handler=search_messages,
    ),
    Tool(
        name="slack_get_user",
        description="A person's profile by user id (U0123…) or email: name, display name, "
        "email, title, time zone.",
        input_schema=obj(
            {"user": required_text("A user id or an email address.", max_length=254)}, ["user"]
        ),
        required_scopes=("users:read",),
        write=False,
        handler=get_user,
    ),
    Tool(
        name="slack_add_reaction",
        description="React to a message with an emoji (name without colons, e.g. eyes or "
        "white_check_mark) as the user.",
        input_schema=obj(
            {
                "channel": CHANNEL,
                "ts": TS,
                "emoji": required_text(
                    "Emoji name, e.g. thumbsup.", max_length=100, pattern=r"^:?[a-z0-9_+'-]+:?$"
                ),
            },
            ["channel", "ts", "emoji"],
        ),
        required_scopes=("reactions:write",),
        write=True,
        handler=add_reaction,
    ),
)
