"""A HubSpot emulator: the date-based OAuth endpoints (form bodies, `hub_id` in the
answer, refresh tokens that do not rotate), token metadata for "who am I", and the CRM
contact and note routes the tools use. Controls: add_contact."""

from __future__ import annotations

import itertools
from typing import Any
from urllib.parse import unquote

from connections.providers import providers
from connections.providers.emulation.oauth import OAuthProvider
from connections.providers.emulation.parts import Answer

READ, WRITE = "crm.objects.contacts.read", "crm.objects.contacts.write"


class HubSpotEmulator(OAuthProvider):
    def __init__(self) -> None:
        super().__init__(providers()["hubspot"])
        self.contacts: dict[str, dict[str, Any]] = {}
        self.notes: list[dict[str, Any]] = []
        self._ids = itertools.count(501)
        self.route("GET", r"/oauth/v1/access-tokens/(?P<token>[^/]+)", self.token_info)
        self.route("POST", "/crm/v3/objects/contacts/search", self.search)
        self.route("POST", "/crm/v3/objects/contacts", self.create)
        self.route("GET", r"/crm/v3/objects/contacts/(?P<id>[^/]+)", self.get)
        self.route("PATCH", r"/crm/v3/objects/contacts/(?P<id>[^/]+)", self.update)
        self.route("POST", "/crm/v3/objects/notes", self.note)

    def add_contact(self, **properties: str) -> dict:
        contact = {
            "id": str(next(self._ids)),
            "properties": dict(properties),
            "updatedAt": "2026-11-24T10:00:00Z",
        }
        self.contacts[contact["id"]] = contact
        return contact

    def kept_value(self, name: str) -> str:
        return "4242" if name == "hub_id" else super().kept_value(name)

    def unauthorized(self):
        return 401, {
            "status": "error",
            "message": "Authentication credentials not found.",
            "category": "INVALID_AUTHENTICATION",
        }

    def forbidden(self, missing):
        return 403, {
            "status": "error",
            "message": "This app hasn't been granted all required scopes.",
            "category": "MISSING_SCOPES",
            "errors": [{"context": {"requiredScopes": missing}}],
        }

    def token_info(self, handler, match, query, body):
        token = self.access_tokens.get(unquote(match["token"]))
        if token is None or not token.valid:
            raise Answer(404, {"status": "error", "message": "The access token does not exist."})
        user = self.users[token.grant.user_id]
        return (
            200,
            {},
            {
                "user": user["email"],
                "user_id": user["id"],
                "hub_id": 4242,
                "scopes": token.grant.scopes,
            },
        )

    def _contact(self, contact_id: str, id_property: str | None = None) -> dict:
        if id_property == "email":
            found = next(
                (c for c in self.contacts.values() if c["properties"].get("email") == contact_id),
                None,
            )
        else:
            found = self.contacts.get(contact_id)
        if found is None:
            raise Answer(
                404,
                {
                    "status": "error",
                    "message": "resource not found",
                    "category": "OBJECT_NOT_FOUND",
                },
            )
        return found

    def search(self, handler, match, query, body):
        self.require(handler, READ)
        data = self.json_body(body)
        found = list(self.contacts.values())
        if data.get("query"):
            found = [
                c
                for c in found
                if data["query"].lower() in " ".join(c["properties"].values()).lower()
            ]
        for group in data.get("filterGroups") or []:
            for f in group.get("filters") or []:
                found = [c for c in found if c["properties"].get(f["propertyName"]) == f["value"]]
        return 200, {}, {"total": len(found), "results": found[: data.get("limit", 10)]}

    def create(self, handler, match, query, body):
        self.require(handler, WRITE)
        properties = self.json_body(body).get("properties") or {}
        if any(
            c["properties"].get("email") == properties.get("email") for c in self.contacts.values()
        ):
            raise Answer(
                409,
                {"status": "error", "message": "Contact already exists.", "category": "CONFLICT"},
            )
        return 201, {}, self.add_contact(**properties)

    def get(self, handler, match, query, body):
        self.require(handler, READ)
        return 200, {}, self._contact(unquote(match["id"]), query.get("idProperty"))

    def update(self, handler, match, query, body):
        self.require(handler, WRITE)
        contact = self._contact(match["id"])
        contact["properties"].update(self.json_body(body).get("properties") or {})
        return 200, {}, contact

    def note(self, handler, match, query, body):
        self.require(handler, WRITE)
        data = self.json_body(body)
        for association in data.get("associations") or []:
            self._contact(association["to"]["id"])
        note = {"id": str(next(self._ids)), "createdAt": "2026-11-25T10:00:00Z", **data}
        self.notes.append(note)
        return 201, {}, note
