"""A Slack emulator: OAuth v2 with user scopes (the token under `authed_user`) and the
Web API methods the tools use, errors as HTTP 200 `ok: false` like Slack's.

Channels have members: a private channel is `channel_not_found` for anyone else;
posting needs membership (`not_in_channel`). A method without its scope answers
`missing_scope` with the scope `needed`. Rate limits are HTTP 429 with Retry-After.
Controls: add_channel, add_message, rate_limit_next(n).
"""

from __future__ import annotations

import itertools
from typing import Any

from connections.providers import providers
from connections.providers.emulation.oauth import OAuthProvider
from connections.providers.emulation.parts import Answer


class SlackEmulator(OAuthProvider):
    def __init__(self) -> None:
        super().__init__(providers()["slack"])
        self.channels: dict[str, dict[str, Any]] = {}
        self._ts = itertools.count(1)
        self._rate_limited = 0
        routes = {
            "auth.test": (self.auth_test, ()),
            "conversations.list": (self.conversations_list, ("channels:read",)),
            "conversations.history": (self.history, ("channels:history",)),
            "chat.postMessage": (self.post_message, ("chat:write",)),
            "search.messages": (self.search, ("search:read",)),
            "users.info": (self.users_info, ("users:read",)),
            "users.lookupByEmail": (self.lookup_by_email, ("users:read.email",)),
            "reactions.add": (self.react, ("reactions:write",)),
        }
        for method_name, (fn, scopes) in routes.items():
            for verb in ("GET", "POST"):
                self.route(
                    verb, f"/api/{method_name.replace('.', '[.]')}", self._method(fn, scopes)
                )

    # --- set-up --------------------------------------------------------------------------
    def add_channel(
        self, channel_id: str, name: str, *, members: list[str], private: bool = False
    ) -> dict:
        channel = {
            "id": channel_id,
            "name": name,
            "is_private": private,
            "members": set(members),
            "messages": [],
        }
        self.channels[channel_id] = channel
        return channel

    def add_message(
        self, channel_id: str, user_id: str, text: str, thread_ts: str | None = None
    ) -> dict:
        message = {
            "type": "message",
            "user": user_id,
            "text": text,
            "ts": f"17000000{next(self._ts):02d}.000100",
            "reactions": [],
        }
        if thread_ts:
            message["thread_ts"] = thread_ts
        self.channels[channel_id]["messages"].insert(0, message)
        return message

    def rate_limit_next(self, n: int = 1) -> None:
        self._rate_limited = n

    def label_of(self, user_id: str) -> str:
        return self.users[user_id]["name"].split()[0].lower()

    # --- plumbing ------------------------------------------------------------------------
    def unauthorized(self):
        return 200, {"ok": False, "error": "invalid_auth"}

    def forbidden(self, missing):
        return 200, {"ok": False, "error": "missing_scope", "needed": ",".join(missing)}

    def _method(self, fn, scopes):
        def handle(handler, match, query, body):
            if self._rate_limited:
                self._rate_limited -= 1
                raise Answer(429, {"ok": False, "error": "ratelimited"}, retry_after="3")
            user = self.require(handler, *scopes)
            args = dict(query)
            if body:
                kind = handler.headers.get("Content-Type", "")
                args.update(self.json_body(body) if "json" in kind else {})
            return 200, {}, {"ok": True, **fn(user, args)}

        return handle

    def _visible(self, user: dict, channel_id: str) -> dict:
        channel = self.channels.get(channel_id)
        if channel is None or (channel["is_private"] and user["id"] not in channel["members"]):
            raise Answer(200, {"ok": False, "error": "channel_not_found"})
        return channel

    # --- methods ---------------------------------------------------------------------------
    def auth_test(self, user, args):
        return {
            "user_id": user["id"],
            "user": self.label_of(user["id"]),
            "team": "Acme",
            "team_id": "T1",
        }

    def conversations_list(self, user, args):
        visible = [
            c for c in self.channels.values() if not c["is_private"] or user["id"] in c["members"]
        ]
        return {
            "channels": [
                {
                    "id": c["id"],
                    "name": c["name"],
                    "is_private": c["is_private"],
                    "is_member": user["id"] in c["members"],
                    "num_members": len(c["members"]),
                    "topic": {"value": ""},
                }
                for c in visible
            ],
            "response_metadata": {"next_cursor": ""},
        }

    def history(self, user, args):
        channel = self._visible(user, args.get("channel", ""))
        return {"messages": channel["messages"][: int(args.get("limit", 100))], "has_more": False}

    def post_message(self, user, args):
        channel = self._visible(user, args.get("channel", ""))
        if user["id"] not in channel["members"]:
            raise Answer(200, {"ok": False, "error": "not_in_channel"})
        if not args.get("text"):
            raise Answer(200, {"ok": False, "error": "no_text"})
        message = self.add_message(channel["id"], user["id"], args["text"], args.get("thread_ts"))
        return {"channel": channel["id"], "ts": message["ts"], "message": message}

    def search(self, user, args):
        words = str(args.get("query", "")).lower().split()
        matches = [
            {
                **m,
                "channel": {"id": c["id"], "name": c["name"]},
                "username": self.label_of(m["user"]) if m["user"] in self.users else m["user"],
                "permalink": f"https://acme.slack.com/archives/{c['id']}/p{m['ts'].replace('.', '')}",
            }
            for c in self.channels.values()
            if not c["is_private"] or user["id"] in c["members"]
            for m in c["messages"]
            if all(w in m["text"].lower() for w in words)
        ]
        return {"messages": {"total": len(matches), "matches": matches}}

    def _user_json(self, user_id: str) -> dict:
        user = self.users.get(user_id)
        if user is None:
            raise Answer(200, {"ok": False, "error": "user_not_found"})
        return {
            "id": user_id,
            "name": self.label_of(user_id),
            "real_name": user["name"],
            "tz": "Europe/Paris",
            "is_bot": False,
            "profile": {
                "email": user["email"],
                "display_name": user["name"].split()[0],
                "title": user.get("title", ""),
            },
        }

    def users_info(self, user, args):
        return {"user": self._user_json(args.get("user", ""))}

    def lookup_by_email(self, user, args):
        found = next((uid for uid, u in self.users.items() if u["email"] == args.get("email")), "")
        return {"user": self._user_json(found)}

    def react(self, user, args):
        channel = self._visible(user, args.get("channel", ""))
        message = next((m for m in channel["messages"] if m["ts"] == args.get("timestamp")), None)
        if message is None:
            raise Answer(200, {"ok": False, "error": "message_not_found"})
        if args.get("name") in message["reactions"]:
            raise Answer(200, {"ok": False, "error": "already_reacted"})
        message["reactions"].append(args.get("name"))
        return {}
