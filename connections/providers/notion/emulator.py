"""A Notion emulator: OAuth with Basic auth and a JSON token body, the authorizing person
in `owner.user`, and the page, block, database and search routes the tools use. A page
the person did not share with the integration is a 404, as in Notion.
Controls: add_page, add_database."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from connections.providers import providers
from connections.providers.emulation.oauth import OAuthProvider
from connections.providers.emulation.parts import Answer


def _rich(text: str) -> list[dict]:
    return [{"type": "text", "text": {"content": text}, "plain_text": text}]


class NotionEmulator(OAuthProvider):
    def __init__(self) -> None:
        super().__init__(providers()["notion"])
        self.pages: dict[str, dict[str, Any]] = {}
        self.databases: dict[str, dict[str, Any]] = {}
        self.blocks: dict[str, list[dict[str, Any]]] = {}
        self.shared: dict[str, set[str]] = {}  # user id → ids shared with the integration
        self._n = itertools.count(1)
        self.route("POST", "/v1/search", self.search)
        self.route("GET", r"/v1/pages/(?P<id>[^/]+)", self.get_page)
        self.route("PATCH", r"/v1/pages/(?P<id>[^/]+)", self.update_page)
        self.route("POST", "/v1/pages", self.create_page)
        self.route("GET", r"/v1/blocks/(?P<id>[^/]+)/children", self.children)
        self.route("PATCH", r"/v1/blocks/(?P<id>[^/]+)/children", self.append)
        self.route("GET", r"/v1/databases/(?P<id>[^/]+)", self.get_database)
        self.route("POST", r"/v1/databases/(?P<id>[^/]+)/query", self.query)

    def add_database(
        self, title: str, *, shared_with: list[str], properties: dict[str, str]
    ) -> dict:
        database = {
            "object": "database",
            "id": str(uuid.uuid4()),
            "title": _rich(title),
            "url": "https://notion.so/db",
            "properties": {name: {"type": kind} for name, kind in properties.items()},
        }
        self.databases[database["id"]] = database
        for user in shared_with:
            self.shared.setdefault(user, set()).add(database["id"])
        return database

    def add_page(
        self,
        title: str,
        *,
        shared_with: list[str],
        parent: dict | None = None,
        properties: dict | None = None,
        lines: list[str] = (),
    ) -> dict:
        page = {
            "object": "page",
            "id": str(uuid.uuid4()),
            "url": f"https://notion.so/p{next(self._n)}",
            "archived": False,
            "last_edited_time": "2026-11-20T10:00:00.000Z",
            "parent": parent or {"type": "workspace", "workspace": True},
            "properties": properties or {"title": {"type": "title", "title": _rich(title)}},
        }
        self.pages[page["id"]] = page
        self.blocks[page["id"]] = [
            {"object": "block", "type": "paragraph", "paragraph": {"rich_text": _rich(line)}}
            for line in lines
        ]
        for user in shared_with:
            self.shared.setdefault(user, set()).add(page["id"])
        return page

    def unauthorized(self):
        return 401, {
            "object": "error",
            "status": 401,
            "code": "unauthorized",
            "message": "API token is invalid.",
        }

    def _visible(self, handler, object_id: str) -> tuple[dict, str]:
        user = self.require(handler)
        if object_id not in self.shared.get(user["id"], set()):
            raise Answer(
                404,
                {
                    "object": "error",
                    "status": 404,
                    "code": "object_not_found",
                    "message": f"Could not find object with ID: {object_id}.",
                },
            )
        return user, object_id

    def search(self, handler, match, query, body):
        user = self.require(handler)
        data = self.json_body(body)
        wanted = (data.get("filter") or {}).get("value")
        words = str(data.get("query") or "").lower()
        found = []
        for object_id in self.shared.get(user["id"], set()):
            item = self.pages.get(object_id) or self.databases.get(object_id)
            title = str(
                item.get("title") or item.get("properties", {}).get("title", {}).get("title", "")
            )
            if (not wanted or item["object"] == wanted) and words in title.lower():
                found.append(item)
        return 200, {}, {"object": "list", "results": found, "next_cursor": None}

    def get_page(self, handler, match, query, body):
        _, page_id = self._visible(handler, match["id"])
        return 200, {}, self.pages[page_id]

    def children(self, handler, match, query, body):
        _, block_id = self._visible(handler, match["id"])
        return 200, {}, {"object": "list", "results": self.blocks.get(block_id, [])}

    def append(self, handler, match, query, body):
        _, block_id = self._visible(handler, match["id"])
        added = self.json_body(body).get("children") or []
        self.blocks.setdefault(block_id, []).extend(added)
        return 200, {}, {"object": "list", "results": added}

    def get_database(self, handler, match, query, body):
        _, database_id = self._visible(handler, match["id"])
        return 200, {}, self.databases[database_id]

    def create_page(self, handler, match, query, body):
        user = self.require(handler)
        data = self.json_body(body)
        parent = data.get("parent") or {}
        parent_id = parent.get("page_id") or parent.get("database_id")
        if parent_id not in self.shared.get(user["id"], set()):
            raise Answer(
                404,
                {
                    "object": "error",
                    "status": 404,
                    "code": "object_not_found",
                    "message": "Could not find parent.",
                },
            )
        properties = {
            name: {"type": next(iter(value)), **value}
            for name, value in (data.get("properties") or {}).items()
        }
        page = self.add_page("", shared_with=[user["id"]], parent=parent, properties=properties)
        self.blocks[page["id"]] = data.get("children") or []
        return 200, {}, page

    def update_page(self, handler, match, query, body):
        _, page_id = self._visible(handler, match["id"])
        data = self.json_body(body)
        page = self.pages[page_id]
        for name, value in (data.get("properties") or {}).items():
            page["properties"][name] = {"type": next(iter(value)), **value}
        if "archived" in data:
            page["archived"] = data["archived"]
        return 200, {}, page

    def query(self, handler, match, query, body):
        _user, database_id = self._visible(handler, match["id"])
        rows = [
            p for p in self.pages.values() if (p["parent"] or {}).get("database_id") == database_id
        ]
        return 200, {}, {"object": "list", "results": rows}
