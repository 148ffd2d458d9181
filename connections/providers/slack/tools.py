"""slack's tools."""

from __future__ import annotations

from typing import Any

from connections.errors import (
    ToolNotFound,
)
from connections.providers.schema import compact, limit, obj, required_text, text
from connections.tooling import ToolContext, Toolset

CHANNEL = required_text(
    "A channel: its id (C0123…) or its name (general or #general).", max_length=100
)


TS = required_text("A message's ts, e.g. 1712345678.123456.", max_length=40, pattern=r"^\d+\.\d+$")


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


MESSAGE_TEXT = required_text("The message (Slack mrkdwn).", max_length=40_000)


toolset = Toolset(scopes=("chat:write",))


@toolset.read(
    "slack_list_channels",
    "Channels the user can see (public, and private ones they are in): id, "
    "name, whether they are a member, topic. Use next_cursor for more.",
    obj(
        {
            "limit": limit(100, 1000),
            "cursor": text("next_cursor of the previous page.", max_length=500),
        }
    ),
    scopes=("channels:read", "groups:read"),
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


@toolset.read(
    "slack_get_channel_history",
    "The latest messages of a channel the user can read, newest first: ts, "
    "user, text, thread info. Pass a ts as oldest to read only newer ones.",
    obj(
        {
            "channel": CHANNEL,
            "limit": limit(20, 200),
            "oldest": text("Only messages after this ts.", max_length=40, pattern=r"^\d+(\.\d+)?$"),
        },
        ["channel"],
    ),
    scopes=("channels:history", "groups:history"),
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


@toolset.write(
    "slack_post_message",
    "Post a message to a channel as the user. Returns the message's ts (use it "
    "to reply in its thread or react).",
    obj({"channel": CHANNEL, "text": MESSAGE_TEXT}, ["channel", "text"]),
)
def post_message(ctx: ToolContext, params: dict) -> dict:
    return _post(ctx, params["channel"], params["text"])


@toolset.write(
    "slack_reply_in_thread",
    "Reply in the thread of a message (its ts) as the user.",
    obj(
        {"channel": CHANNEL, "thread_ts": TS, "text": MESSAGE_TEXT},
        ["channel", "thread_ts", "text"],
    ),
)
def reply_in_thread(ctx: ToolContext, params: dict) -> dict:
    return _post(ctx, params["channel"], params["text"], params["thread_ts"])


@toolset.read(
    "slack_search_messages",
    "Search the messages the user can see with Slack's search syntax, e.g. "
    "'launch in:#marketing from:@ana after:2026-11-01'.",
    obj(
        {
            "query": required_text("Slack search query.", max_length=500),
            "limit": limit(20, 100),
        },
        ["query"],
    ),
    scopes=("search:read",),
)
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


@toolset.read(
    "slack_get_user",
    "A person's profile by user id (U0123…) or email: name, display name, email, title, time zone.",
    obj({"user": required_text("A user id or an email address.", max_length=254)}, ["user"]),
    scopes=("users:read",),
)
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


@toolset.write(
    "slack_add_reaction",
    "React to a message with an emoji (name without colons, e.g. eyes or "
    "white_check_mark) as the user.",
    obj(
        {
            "channel": CHANNEL,
            "ts": TS,
            "emoji": required_text(
                "Emoji name, e.g. thumbsup.", max_length=100, pattern=r"^:?[a-z0-9_+'-]+:?$"
            ),
        },
        ["channel", "ts", "emoji"],
    ),
    scopes=("reactions:write",),
)
def add_reaction(ctx: ToolContext, params: dict) -> dict:
    channel = _channel_id(ctx, params["channel"])
    ctx.post(
        "/reactions.add",
        json={"channel": channel, "timestamp": params["ts"], "name": params["emoji"].strip(":")},
    )
    return {"channel": channel, "ts": params["ts"], "reaction": params["emoji"].strip(":")}


TOOLS = toolset.tools
