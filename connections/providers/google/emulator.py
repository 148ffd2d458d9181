"""A Google emulator: OAuth with offline access and granular consent, and the Gmail,
Calendar and Drive routes the tools use.

Each user has their own mailbox and calendar; Drive files are visible to their owner
and the people they are shared with (a 404 for anyone else). Every route checks its
scope (403 PERMISSION_DENIED with Google's error shape). `grant_only([...])` makes the
next consent grant only some of the scopes asked (granular consent).
Controls: add_message, add_event, add_file, rate_limit_next(n).
"""

from __future__ import annotations

import base64
import email
import itertools
from typing import Any

from connections.providers import providers
from connections.providers.emulation.oauth import OAuthProvider
from connections.providers.emulation.parts import Answer
from connections.providers.google import (
    CALENDAR_EVENTS,
    CALENDAR_READ,
    DRIVE_READ,
    GMAIL_COMPOSE,
    GMAIL_READ,
    GMAIL_SEND,
)


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


class GoogleEmulator(OAuthProvider):
    def __init__(self) -> None:
        super().__init__(providers()["google"])
        self.mailboxes: dict[str, list[dict[str, Any]]] = {}
        self.drafts: dict[str, list[dict[str, Any]]] = {}
        self.sent: dict[str, list[dict[str, Any]]] = {}
        self.calendars: dict[str, list[dict[str, Any]]] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self._rate_limited = 0
        self.route("GET", "/oauth2/v3/userinfo", self.userinfo)
        self.route("GET", "/gmail/v1/users/me/messages", self.list_messages)
        self.route("GET", r"/gmail/v1/users/me/messages/(?P<id>[^/]+)", self.get_message)
        self.route("POST", "/gmail/v1/users/me/drafts", self.create_draft)
        self.route("POST", "/gmail/v1/users/me/messages/send", self.send)
        self.route("GET", r"/calendar/v3/calendars/(?P<cal>[^/]+)/events", self.list_events)
        self.route("POST", r"/calendar/v3/calendars/(?P<cal>[^/]+)/events", self.create_event)
        self.route("GET", "/drive/v3/files", self.list_files)
        self.route("GET", r"/drive/v3/files/(?P<id>[^/]+)", self.get_file)
        self.route("GET", r"/drive/v3/files/(?P<id>[^/]+)/export", self.export)

    # --- set-up --------------------------------------------------------------------------
    def add_message(self, user_id: str, *, sender: str, subject: str, body: str) -> dict:
        message = {
            "id": f"m{next(self._ids)}",
            "threadId": "t1",
            "snippet": body[:80],
            "labelIds": ["INBOX", "UNREAD"],
            "payload": {
                "mimeType": "multipart/alternative",
                "headers": [
                    {"name": "From", "value": sender},
                    {"name": "To", "value": self.users[user_id]["email"]},
                    {"name": "Subject", "value": subject},
                    {"name": "Date", "value": "Tue, 24 Nov 2026 09:00:00 +0000"},
                ],
                "parts": [
                    {"mimeType": "text/html", "body": {"data": _b64(f"<p>{body}</p>")}},
                    {"mimeType": "text/plain", "body": {"data": _b64(body)}},
                ],
            },
        }
        self.mailboxes.setdefault(user_id, []).insert(0, message)
        return message

    def add_event(self, user_id: str, title: str, start: str, end: str) -> dict:
        event = {
            "id": f"e{next(self._ids)}",
            "summary": title,
            "start": {"dateTime": start},
            "end": {"dateTime": end},
            "htmlLink": "https://calendar.google.com/e",
            "organizer": {"email": self.users[user_id]["email"]},
        }
        self.calendars.setdefault(user_id, []).append(event)
        return event

    def add_file(
        self,
        name: str,
        *,
        owner: str,
        shared_with: list[str] = (),
        mime: str = "application/vnd.google-apps.document",
        content: str = "",
    ) -> dict:
        file = {
            "id": f"f{next(self._ids)}",
            "name": name,
            "mimeType": mime,
            "modifiedTime": "2026-11-20T10:00:00Z",
            "webViewLink": f"https://docs.google.com/d/{name}",
            "owners": [{"emailAddress": self.users[owner]["email"]}],
            "readers": {owner, *shared_with},
            "content": content,
        }
        self.files[file["id"]] = file
        return file

    def rate_limit_next(self, n: int = 1) -> None:
        self._rate_limited = n

    # --- plumbing ------------------------------------------------------------------------
    def unauthorized(self):
        return 401, {
            "error": {
                "code": 401,
                "message": "Request had invalid authentication credentials.",
                "status": "UNAUTHENTICATED",
            }
        }

    def forbidden(self, missing):
        return 403, {
            "error": {
                "code": 403,
                "message": "Request had insufficient authentication scopes.",
                "status": "PERMISSION_DENIED",
                "errors": [{"reason": "insufficientPermissions"}],
            }
        }

    def _user(self, handler, scope: str | tuple[str, ...]) -> dict:
        if self._rate_limited:
            self._rate_limited -= 1
            raise Answer(
                403,
                {
                    "error": {
                        "code": 403,
                        "message": "User-rate limit exceeded.",
                        "errors": [{"reason": "userRateLimitExceeded"}],
                    }
                },
                retry_after="5",
            )
        scopes = (scope,) if isinstance(scope, str) else scope
        caller = self.user_of(handler)
        if caller is None:
            raise Answer(*self.unauthorized())
        if not set(scopes) & set(caller[1]):
            raise Answer(*self.forbidden(list(scopes)))
        return caller[0]

    @staticmethod
    def not_found() -> Answer:
        return Answer(
            404,
            {
                "error": {
                    "code": 404,
                    "message": "Requested entity was not found.",
                    "status": "NOT_FOUND",
                }
            },
        )

    # --- routes --------------------------------------------------------------------------
    def userinfo(self, handler, match, query, body):
        user = self.require(handler)
        return 200, {}, {"sub": user["id"], "email": user["email"], "name": user["name"]}

    def list_messages(self, handler, match, query, body):
        user = self._user(handler, GMAIL_READ)
        words = query.get("q", "").lower().split()
        box = [
            m
            for m in self.mailboxes.get(user["id"], [])
            if all(
                w in m["snippet"].lower() or w in str(m["payload"]["headers"]).lower()
                for w in words
            )
        ]
        return (
            200,
            {},
            {
                "messages": [
                    {"id": m["id"], "threadId": m["threadId"]}
                    for m in box[: int(query.get("maxResults", 100))]
                ],
                "resultSizeEstimate": len(box),
            },
        )

    def get_message(self, handler, match, query, body):
        user = self._user(handler, GMAIL_READ)
        message = next(
            (m for m in self.mailboxes.get(user["id"], []) if m["id"] == match["id"]), None
        )
        if message is None:
            raise self.not_found()
        return 200, {}, message

    def _parse(self, raw: str) -> dict:
        parsed = email.message_from_bytes(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        return {"to": parsed["To"], "subject": parsed["Subject"], "body": parsed.get_payload()}

    def create_draft(self, handler, match, query, body):
        user = self._user(handler, GMAIL_COMPOSE)
        draft = {"id": f"d{next(self._ids)}", **self._parse(self.json_body(body)["message"]["raw"])}
        self.drafts.setdefault(user["id"], []).append(draft)
        return 200, {}, {"id": draft["id"], "message": {"id": f"m{next(self._ids)}"}}

    def send(self, handler, match, query, body):
        user = self._user(handler, GMAIL_SEND)
        sent = {
            "id": f"m{next(self._ids)}",
            "threadId": "t9",
            **self._parse(self.json_body(body)["raw"]),
        }
        self.sent.setdefault(user["id"], []).append(sent)
        return 200, {}, {"id": sent["id"], "threadId": sent["threadId"], "labelIds": ["SENT"]}

    def list_events(self, handler, match, query, body):
        user = self._user(handler, (CALENDAR_READ, CALENDAR_EVENTS))
        if match["cal"] != "primary":
            raise self.not_found()
        return 200, {}, {"items": self.calendars.get(user["id"], [])}

    def create_event(self, handler, match, query, body):
        user = self._user(handler, CALENDAR_EVENTS)
        data = self.json_body(body)
        event = {
            "id": f"e{next(self._ids)}",
            "htmlLink": "https://calendar.google.com/e",
            "organizer": {"email": user["email"]},
            **data,
        }
        self.calendars.setdefault(user["id"], []).append(event)
        return 200, {}, event

    def _file(self, user: dict, file_id: str) -> dict:
        file = self.files.get(file_id)
        if file is None or user["id"] not in file["readers"]:
            raise self.not_found()
        return file

    @staticmethod
    def _file_json(file: dict) -> dict:
        return {k: v for k, v in file.items() if k not in ("readers", "content")}

    def list_files(self, handler, match, query, body):
        user = self._user(handler, DRIVE_READ)
        q = query.get("q", "")
        name = q.split("name contains '", 1)[1].split("'", 1)[0] if "name contains '" in q else ""
        files = [
            f
            for f in self.files.values()
            if user["id"] in f["readers"] and name.lower() in f["name"].lower()
        ]
        return 200, {}, {"files": [self._file_json(f) for f in files]}

    def get_file(self, handler, match, query, body):
        user = self._user(handler, DRIVE_READ)
        file = self._file(user, match["id"])
        if query.get("alt") == "media":
            return 200, {"Content-Type": "text/plain"}, file["content"].encode()
        return 200, {}, self._file_json(file)

    def export(self, handler, match, query, body):
        user = self._user(handler, DRIVE_READ)
        return (
            200,
            {"Content-Type": "text/plain"},
            self._file(user, match["id"])["content"].encode(),
        )
