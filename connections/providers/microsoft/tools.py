"""microsoft's tools."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from connections.providers.schema import (
    boolean,
    compact,
    date_time,
    limit,
    obj,
    required_text,
    string_list,
    text,
)
from connections.tooling import ToolContext, Toolset


def _address(raw: dict | None) -> str | None:
    return ((raw or {}).get("emailAddress") or {}).get("address")


def _recipients(emails: list[str] | None) -> list[dict]:
    return [{"emailAddress": {"address": email}} for email in emails or []]


EMAILS = string_list("Email addresses.", max_items=50, max_length=254)


toolset = Toolset(scopes=("Calendars.ReadWrite",))


@toolset.read(
    "outlook_list_messages",
    "The user's latest Outlook mail (or a search, or unread only): id, subject, "
    "from, received, preview, url.",
    obj(
        {
            "search": text("Words to search for in the mail.", max_length=200),
            "unread_only": boolean("Only unread messages."),
            "folder": text("A folder id or well-known name (inbox, sentitems).", max_length=200),
            "limit": limit(10, 50),
        }
    ),
    scopes=("Mail.Read",),
)
def list_messages(ctx: ToolContext, params: dict) -> dict:
    query: dict[str, Any] = {
        "$top": params.get("limit", 10),
        "$select": "id,subject,from,toRecipients,receivedDateTime,bodyPreview,isRead,webLink",
    }
    if params.get("search"):
        query["$search"] = f'"{params["search"].replace(chr(34), "")}"'
    else:
        query["$orderby"] = "receivedDateTime desc"
    if params.get("unread_only"):
        query["$filter"] = "isRead eq false"
    folder = params.get("folder")
    path = f"/me/mailFolders/{quote(folder, safe='')}/messages" if folder else "/me/messages"
    found = ctx.get(path, params=query)
    return {
        "messages": [
            compact(
                {
                    "id": m.get("id"),
                    "subject": m.get("subject"),
                    "from": _address(m.get("from")),
                    "to": [_address(r) for r in m.get("toRecipients") or []],
                    "received": m.get("receivedDateTime"),
                    "preview": m.get("bodyPreview"),
                    "read": m.get("isRead"),
                    "url": m.get("webLink"),
                }
            )
            for m in found.get("value") or []
        ]
    }


@toolset.write(
    "outlook_send_mail",
    "Send an email as the user from Outlook (saved in Sent Items).",
    obj(
        {
            "to": {**EMAILS, "minItems": 1},
            "cc": EMAILS,
            "subject": required_text("The subject.", max_length=500),
            "body": required_text("The message, plain text.", max_length=50_000),
        },
        ["to", "subject", "body"],
    ),
    scopes=("Mail.Send",),
)
def send_mail(ctx: ToolContext, params: dict) -> dict:
    message = {
        "subject": params["subject"],
        "body": {"contentType": "Text", "content": params["body"]},
        "toRecipients": _recipients(params["to"]),
    }
    if params.get("cc"):
        message["ccRecipients"] = _recipients(params["cc"])
    ctx.post("/me/sendMail", json={"message": message, "saveToSentItems": True})
    return {"sent": True, "to": params["to"], "subject": params["subject"]}


def _event(raw: dict) -> dict[str, Any]:
    return compact(
        {
            "id": raw.get("id"),
            "title": raw.get("subject"),
            "start": (raw.get("start") or {}).get("dateTime"),
            "end": (raw.get("end") or {}).get("dateTime"),
            "time_zone": (raw.get("start") or {}).get("timeZone"),
            "location": (raw.get("location") or {}).get("displayName"),
            "organizer": _address(raw.get("organizer")),
            "attendees": [_address(a) for a in raw.get("attendees") or []],
            "online_meeting": (raw.get("onlineMeeting") or {}).get("joinUrl"),
            "url": raw.get("webLink"),
        }
    )


@toolset.read(
    "outlook_list_events",
    "The user's calendar events between two moments (recurring ones expanded): "
    "title, start, end, organizer, attendees, location, meeting link.",
    obj(
        {
            "start": date_time("From (ISO 8601)."),
            "end": date_time("Until (ISO 8601)."),
            "limit": limit(20, 100),
        },
        ["start", "end"],
    ),
)
def list_events(ctx: ToolContext, params: dict) -> dict:
    found = ctx.get(
        "/me/calendarView",
        params={
            "startDateTime": params["start"],
            "endDateTime": params["end"],
            "$top": params.get("limit", 20),
            "$orderby": "start/dateTime",
            "$select": "id,subject,start,end,location,organizer,attendees,webLink,onlineMeeting",
        },
    )
    return {"events": [_event(e) for e in found.get("value") or []]}


@toolset.write(
    "outlook_create_event",
    "Create an event in the user's calendar and invite attendees; optionally a Teams meeting.",
    obj(
        {
            "title": required_text("The event's title.", max_length=255),
            "start": date_time("Start, local to time_zone (ISO 8601)."),
            "end": date_time("End (ISO 8601)."),
            "time_zone": text("Time zone, e.g. Europe/Paris (default UTC).", max_length=60),
            "description": text("Details.", max_length=8000),
            "location": text("Where.", max_length=255),
            "attendees": EMAILS,
            "online_meeting": boolean("Add a Teams meeting link."),
        },
        ["title", "start", "end"],
    ),
)
def create_event(ctx: ToolContext, params: dict) -> dict:
    zone = params.get("time_zone") or "UTC"
    body: dict[str, Any] = {
        "subject": params["title"],
        "start": {"dateTime": params["start"], "timeZone": zone},
        "end": {"dateTime": params["end"], "timeZone": zone},
    }
    if params.get("description"):
        body["body"] = {"contentType": "Text", "content": params["description"]}
    if params.get("location"):
        body["location"] = {"displayName": params["location"]}
    if params.get("attendees"):
        body["attendees"] = [
            {"emailAddress": {"address": email}, "type": "required"}
            for email in params["attendees"]
        ]
    if params.get("online_meeting"):
        body["isOnlineMeeting"] = True
    return _event(ctx.post("/me/events", json=body))


@toolset.read(
    "teams_list_chats",
    "The user's Teams chats: id, topic, type (oneOnOne, group, meeting), members.",
    obj({"limit": limit(20, 50)}),
    scopes=("Chat.ReadWrite",),
)
def list_chats(ctx: ToolContext, params: dict) -> dict:
    found = ctx.get("/me/chats", params={"$top": params.get("limit", 20), "$expand": "members"})
    return {
        "chats": [
            compact(
                {
                    "id": c.get("id"),
                    "topic": c.get("topic"),
                    "type": c.get("chatType"),
                    "members": [m.get("displayName") for m in c.get("members") or []],
                    "url": c.get("webUrl"),
                }
            )
            for c in found.get("value") or []
        ]
    }


@toolset.write(
    "teams_send_chat_message",
    "Send a message in a Teams chat (its id from teams_list_chats) as the user.",
    obj(
        {
            "chat_id": required_text("The chat's id.", max_length=300),
            "text": required_text("The message.", max_length=28_000),
        },
        ["chat_id", "text"],
    ),
    scopes=("Chat.ReadWrite",),
)
def send_chat_message(ctx: ToolContext, params: dict) -> dict:
    sent = ctx.post(
        f"/chats/{quote(params['chat_id'], safe='')}/messages",
        json={"body": {"contentType": "text", "content": params["text"]}},
    )
    return compact(
        {"id": sent.get("id"), "chat_id": params["chat_id"], "sent_at": sent.get("createdDateTime")}
    )


TOOLS = toolset.tools
