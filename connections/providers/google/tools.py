"""google's tools."""

from __future__ import annotations

import base64
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote

from connections.providers.http import raise_for_status
from connections.providers.schema import (
    compact,
    date_time,
    limit,
    obj,
    required_text,
    string_list,
    text,
)
from connections.tooling import ToolContext, Toolset

SCOPE = "https://www.googleapis.com/auth/"


GMAIL_READ = SCOPE + "gmail.readonly"


GMAIL_COMPOSE = SCOPE + "gmail.compose"


GMAIL_SEND = SCOPE + "gmail.send"


CALENDAR_READ = SCOPE + "calendar.readonly"


CALENDAR_EVENTS = SCOPE + "calendar.events"


DRIVE_READ = SCOPE + "drive.readonly"


def _headers(payload: dict) -> dict[str, str]:
    return {h.get("name", "").lower(): h.get("value", "") for h in payload.get("headers") or []}


def _summary(raw: dict) -> dict[str, Any]:
    headers = _headers(raw.get("payload") or {})
    return compact(
        {
            "id": raw.get("id"),
            "thread_id": raw.get("threadId"),
            "from": headers.get("from"),
            "to": headers.get("to"),
            "subject": headers.get("subject"),
            "date": headers.get("date"),
            "snippet": raw.get("snippet"),
            "labels": raw.get("labelIds"),
        }
    )


def _decode(data: str) -> str:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)).decode("utf-8", "replace")


def _plain_text(payload: dict) -> str:
    """The text/plain part of a message (depth-first), else its first text part."""
    stack, fallback = [payload], ""
    while stack:
        part = stack.pop(0)
        data = (part.get("body") or {}).get("data")
        if data and part.get("mimeType") == "text/plain":
            return _decode(data)
        if data and not fallback and str(part.get("mimeType", "")).startswith("text/"):
            fallback = _decode(data)
        stack.extend(part.get("parts") or [])
    return fallback


FILE_FIELDS = "id,name,mimeType,modifiedTime,webViewLink,size,owners(emailAddress)"


EXPORTS = {
    "application/vnd.google-apps.document": "text/plain",
    "application/vnd.google-apps.spreadsheet": "text/csv",
    "application/vnd.google-apps.presentation": "text/plain",
}


EMAILS = string_list("Email addresses.", max_items=50, max_length=254)


MAIL = {
    "to": {**EMAILS, "minItems": 1},
    "cc": EMAILS,
    "subject": required_text("The subject.", max_length=500),
    "body": required_text("The message, plain text.", max_length=50_000),
}


toolset = Toolset(scopes=(GMAIL_READ,))


@toolset.read(
    "gmail_search_messages",
    "Search the user's mail with Gmail's query syntax (e.g. 'from:ana "
    "subject:invoice newer_than:7d is:unread'): id, from, subject, date, snippet.",
    obj({"query": text("Gmail search query.", max_length=500), "limit": limit(10, 50)}),
)
def search_messages(ctx: ToolContext, params: dict) -> dict:
    found = ctx.get(
        "/gmail/v1/users/me/messages",
        params={"q": params.get("query"), "maxResults": params.get("limit", 10)},
    )
    messages = []
    for ref in found.get("messages") or []:
        raw = ctx.get(
            f"/gmail/v1/users/me/messages/{quote(ref['id'], safe='')}",
            params={"format": "metadata", "metadataHeaders": ["From", "To", "Subject", "Date"]},
        )
        messages.append(_summary(raw))
    return {"messages": messages, "estimate": found.get("resultSizeEstimate")}


@toolset.read(
    "gmail_get_message",
    "One message by id: headers and its plain-text body (first 8,000 characters).",
    obj({"id": required_text("The message id.", max_length=100)}, ["id"]),
)
def get_message(ctx: ToolContext, params: dict) -> dict:
    raw = ctx.get(
        f"/gmail/v1/users/me/messages/{quote(params['id'], safe='')}", params={"format": "full"}
    )
    return {**_summary(raw), "body": _plain_text(raw.get("payload") or {})[:8000]}


def _raw_message(params: dict) -> str:
    message = EmailMessage()
    message["To"] = ", ".join(params["to"])
    if params.get("cc"):
        message["Cc"] = ", ".join(params["cc"])
    message["Subject"] = params["subject"]
    message.set_content(params["body"])
    return base64.urlsafe_b64encode(message.as_bytes()).decode()


@toolset.write(
    "gmail_create_draft",
    "Create a draft in the user's mailbox (not sent), for them to review and send.",
    obj(MAIL, ["to", "subject", "body"]),
    scopes=(GMAIL_COMPOSE,),
)
def create_draft(ctx: ToolContext, params: dict) -> dict:
    draft = ctx.post("/gmail/v1/users/me/drafts", json={"message": {"raw": _raw_message(params)}})
    return compact(
        {"draft_id": draft.get("id"), "message_id": (draft.get("message") or {}).get("id")}
    )


@toolset.write(
    "gmail_send_message",
    "Send an email as the user, now. Prefer gmail_create_draft unless the user asked to send.",
    obj(MAIL, ["to", "subject", "body"]),
    scopes=(GMAIL_SEND,),
)
def send_message(ctx: ToolContext, params: dict) -> dict:
    sent = ctx.post("/gmail/v1/users/me/messages/send", json={"raw": _raw_message(params)})
    return compact({"id": sent.get("id"), "thread_id": sent.get("threadId")})


def _when(value: dict | None) -> str | None:
    return (value or {}).get("dateTime") or (value or {}).get("date")


def _event(raw: dict) -> dict[str, Any]:
    return compact(
        {
            "id": raw.get("id"),
            "title": raw.get("summary"),
            "start": _when(raw.get("start")),
            "end": _when(raw.get("end")),
            "location": raw.get("location"),
            "organizer": (raw.get("organizer") or {}).get("email"),
            "attendees": [a.get("email") for a in raw.get("attendees") or []],
            "url": raw.get("htmlLink"),
        }
    )


def _calendar(params: dict) -> str:
    return quote(params.get("calendar_id") or "primary", safe="@.")


@toolset.read(
    "gcal_list_events",
    "Events of the user's calendar (primary unless calendar_id) between two "
    "moments, in order: title, start, end, attendees, location, url.",
    obj(
        {
            "time_min": date_time("From (RFC 3339, e.g. 2026-11-25T00:00:00Z)."),
            "time_max": date_time("Until (RFC 3339)."),
            "query": text("Free text over the events.", max_length=200),
            "calendar_id": text("A calendar id, default primary.", max_length=200),
            "limit": limit(20, 250),
        }
    ),
    scopes=(CALENDAR_READ,),
)
def list_events(ctx: ToolContext, params: dict) -> dict:
    found = ctx.get(
        f"/calendar/v3/calendars/{_calendar(params)}/events",
        params={
            "timeMin": params.get("time_min"),
            "timeMax": params.get("time_max"),
            "q": params.get("query"),
            "singleEvents": True,
            "orderBy": "startTime",
            "maxResults": params.get("limit", 20),
        },
    )
    return {"events": [_event(e) for e in found.get("items") or []]}


@toolset.write(
    "gcal_create_event",
    "Create an event in the user's calendar, inviting attendees by email.",
    obj(
        {
            "title": required_text("The event's title.", max_length=500),
            "start": date_time("Start (RFC 3339 with an offset, or with time_zone)."),
            "end": date_time("End (RFC 3339)."),
            "time_zone": text("IANA time zone, e.g. Europe/Paris.", max_length=60),
            "description": text("Details.", max_length=8000),
            "location": text("Where.", max_length=500),
            "attendees": EMAILS,
            "calendar_id": text("A calendar id, default primary.", max_length=200),
        },
        ["title", "start", "end"],
    ),
    scopes=(CALENDAR_EVENTS,),
)
def create_event(ctx: ToolContext, params: dict) -> dict:
    zone = params.get("time_zone")
    body: dict[str, Any] = {
        "summary": params["title"],
        "start": compact({"dateTime": params["start"], "timeZone": zone}),
        "end": compact({"dateTime": params["end"], "timeZone": zone}),
    }
    for source, target in (("description", "description"), ("location", "location")):
        if params.get(source):
            body[target] = params[source]
    if params.get("attendees"):
        body["attendees"] = [{"email": email} for email in params["attendees"]]
    return _event(ctx.post(f"/calendar/v3/calendars/{_calendar(params)}/events", json=body))


def _file(raw: dict) -> dict[str, Any]:
    return compact(
        {
            "id": raw.get("id"),
            "name": raw.get("name"),
            "type": raw.get("mimeType"),
            "modified": raw.get("modifiedTime"),
            "url": raw.get("webViewLink"),
            "owners": [o.get("emailAddress") for o in raw.get("owners") or []],
        }
    )


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


@toolset.read(
    "gdrive_search_files",
    "Find Drive files the user can open, by name or full text, newest first: "
    "id, name, type, modified, url.",
    obj(
        {
            "name": text("Part of the file name.", max_length=200),
            "text": text("Words in the file's content.", max_length=200),
            "limit": limit(20, 100),
        }
    ),
    scopes=(DRIVE_READ,),
)
def search_files(ctx: ToolContext, params: dict) -> dict:
    clauses = ["trashed = false"]
    if params.get("name"):
        clauses.append(f"name contains '{_quoted(params['name'])}'")
    if params.get("text"):
        clauses.append(f"fullText contains '{_quoted(params['text'])}'")
    found = ctx.get(
        "/drive/v3/files",
        params={
            "q": " and ".join(clauses),
            "pageSize": params.get("limit", 20),
            "fields": f"files({FILE_FIELDS})",
            "orderBy": "modifiedTime desc",
        },
    )
    return {"files": [_file(f) for f in found.get("files") or []]}


@toolset.read(
    "gdrive_get_file",
    "A Drive file by id: its details and, for Google Docs, Sheets, Slides and "
    "text files, its content as text (first 20,000 characters).",
    obj({"id": required_text("The file id.", max_length=200)}, ["id"]),
    scopes=(DRIVE_READ,),
)
def get_file(ctx: ToolContext, params: dict) -> dict:
    file_id = quote(params["id"], safe="")
    raw = ctx.get(f"/drive/v3/files/{file_id}", params={"fields": FILE_FIELDS})
    result = _file(raw)
    export = EXPORTS.get(raw.get("mimeType", ""))
    if export:
        content = ctx.raw("GET", f"/drive/v3/files/{file_id}/export", params={"mimeType": export})
    elif str(raw.get("mimeType", "")).startswith("text/"):
        content = ctx.raw("GET", f"/drive/v3/files/{file_id}", params={"alt": "media"})
    else:
        return {**result, "content": None, "note": "Binary file: open it with its url."}
    raise_for_status(content, provider=ctx.provider, what="Google Drive")
    return {**result, "content": content.text[:20_000]}


TOOLS = toolset.tools
