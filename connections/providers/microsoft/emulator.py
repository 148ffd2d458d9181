"""A Microsoft Graph emulator: Entra v2 OAuth (tenant in the path) and the mail,
calendar and Teams chat routes the tools use. Each user has their own mailbox,
calendar and chats; a chat the user is not in is a 404. Errors have Graph's shape.
Controls: add_message, add_event, add_chat."""

from __future__ import annotations

import itertools
from typing import Any

from connections.providers import providers
from connections.providers.emulation.oauth import OAuthProvider
from connections.providers.emulation.parts import Answer


class MicrosoftEmulator(OAuthProvider):
    def __init__(self) -> None:
        super().__init__(providers()["microsoft"])
        self.mail: dict[str, list[dict[str, Any]]] = {}
        self.sent: dict[str, list[dict[str, Any]]] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.chats: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self.route("GET", "/v1.0/me", self.me)
        self.route("GET", "/v1.0/me/messages", self.list_messages)
        self.route("GET", r"/v1.0/me/mailFolders/(?P<folder>[^/]+)/messages", self.list_messages)
        self.route("POST", "/v1.0/me/sendMail", self.send_mail)
        self.route("GET", "/v1.0/me/calendarView", self.calendar_view)
        self.route("POST", "/v1.0/me/events", self.create_event)
        self.route("GET", "/v1.0/me/chats", self.list_chats)
        self.route("POST", r"/v1.0/chats/(?P<chat>[^/]+)/messages", self.post_chat)

    def add_message(
        self, user_id: str, *, sender: str, subject: str, preview: str, read: bool = False
    ) -> dict:
        message = {
            "id": f"msg{next(self._ids)}",
            "subject": subject,
            "from": {"emailAddress": {"address": sender}},
            "toRecipients": [{"emailAddress": {"address": self.users[user_id]["email"]}}],
            "receivedDateTime": "2026-11-24T09:00:00Z",
            "bodyPreview": preview,
            "isRead": read,
            "webLink": "https://outlook.office.com/x",
        }
        self.mail.setdefault(user_id, []).insert(0, message)
        return message

    def add_event(self, user_id: str, subject: str, start: str, end: str) -> dict:
        event = {
            "id": f"ev{next(self._ids)}",
            "subject": subject,
            "start": {"dateTime": start, "timeZone": "UTC"},
            "end": {"dateTime": end, "timeZone": "UTC"},
            "organizer": {"emailAddress": {"address": self.users[user_id]["email"]}},
            "attendees": [],
            "webLink": "https://outlook.office.com/e",
        }
        self.events.setdefault(user_id, []).append(event)
        return event

    def add_chat(self, topic: str, members: list[str]) -> dict:
        chat = {
            "id": f"19:chat{next(self._ids)}@thread.v2",
            "topic": topic,
            "chatType": "group",
            "members": set(members),
            "messages": [],
            "webUrl": "https://teams.microsoft.com/l/chat",
        }
        self.chats[chat["id"]] = chat
        return chat

    def unauthorized(self):
        return 401, {
            "error": {
                "code": "InvalidAuthenticationToken",
                "message": "Access token is empty or invalid.",
            }
        }

    def forbidden(self, missing):
        return 403, {
            "error": {"code": "Forbidden", "message": f"Missing scope(s): {', '.join(missing)}"}
        }

    def me(self, handler, match, query, body):
        user = self.require(handler, "User.Read")
        return (
            200,
            {},
            {
                "id": user["id"],
                "displayName": user["name"],
                "mail": user["email"],
                "userPrincipalName": user["email"],
            },
        )

    def list_messages(self, handler, match, query, body):
        user = self.require(handler, "Mail.Read")
        box = self.mail.get(user["id"], [])
        if "$search" in query:
            words = query["$search"].strip('"').lower().split()
            box = [
                m for m in box if all(w in (m["subject"] + m["bodyPreview"]).lower() for w in words)
            ]
        if query.get("$filter") == "isRead eq false":
            box = [m for m in box if not m["isRead"]]
        return 200, {}, {"value": box[: int(query.get("$top", 10))]}

    def send_mail(self, handler, match, query, body):
        user = self.require(handler, "Mail.Send")
        message = self.json_body(body).get("message") or {}
        if not message.get("toRecipients"):
            raise Answer(
                400,
                {
                    "error": {
                        "code": "ErrorInvalidRecipients",
                        "message": "At least one recipient is not valid.",
                    }
                },
            )
        self.sent.setdefault(user["id"], []).append(message)
        return 202, {}, b""

    def calendar_view(self, handler, match, query, body):
        user = self.require(handler, "Calendars.ReadWrite")
        if "startDateTime" not in query or "endDateTime" not in query:
            raise Answer(
                400,
                {
                    "error": {
                        "code": "ErrorInvalidParameter",
                        "message": "startDateTime and endDateTime are required.",
                    }
                },
            )
        return 200, {}, {"value": self.events.get(user["id"], [])}

    def create_event(self, handler, match, query, body):
        user = self.require(handler, "Calendars.ReadWrite")
        data = self.json_body(body)
        event = {
            "id": f"ev{next(self._ids)}",
            "webLink": "https://outlook.office.com/e",
            "organizer": {"emailAddress": {"address": user["email"]}},
            **data,
        }
        if data.get("isOnlineMeeting"):
            event["onlineMeeting"] = {"joinUrl": "https://teams.microsoft.com/l/meetup-join/x"}
        self.events.setdefault(user["id"], []).append(event)
        return 201, {}, event

    def list_chats(self, handler, match, query, body):
        user = self.require(handler, "Chat.ReadWrite")
        mine = [c for c in self.chats.values() if user["id"] in c["members"]]
        return (
            200,
            {},
            {
                "value": [
                    {
                        "id": c["id"],
                        "topic": c["topic"],
                        "chatType": c["chatType"],
                        "webUrl": c["webUrl"],
                        "members": [
                            {"displayName": self.users[m]["name"]} for m in sorted(c["members"])
                        ],
                    }
                    for c in mine
                ]
            },
        )

    def post_chat(self, handler, match, query, body):
        user = self.require(handler, "Chat.ReadWrite")
        chat = self.chats.get(match["chat"])
        if chat is None or user["id"] not in chat["members"]:
            raise Answer(404, {"error": {"code": "NotFound", "message": "Resource not found."}})
        message = {
            "id": f"cm{next(self._ids)}",
            "createdDateTime": "2026-11-25T10:00:00Z",
            "from": user["id"],
            "body": self.json_body(body).get("body"),
        }
        chat["messages"].append(message)
        return 201, {}, message
