"""notion's tools."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from connections.errors import ToolInvalid
from connections.providers.schema import (
    compact,
    enum,
    json_object_text,
    limit,
    obj,
    required_text,
    text,
)
from connections.tooling import ToolContext, Toolset, json_object

VERSION = "2022-06-28"


ID = required_text("A page, database or block id (with or without dashes).", max_length=64)


BLOCK_TYPES = [
    "paragraph",
    "heading_1",
    "heading_2",
    "heading_3",
    "bulleted_list_item",
    "numbered_list_item",
    "to_do",
    "quote",
]


BLOCKS = {
    "type": "array",
    "minItems": 1,
    "maxItems": 100,
    "description": "Blocks to add, in order: each a type and its text (to_do may be checked).",
    "items": {
        "type": "object",
        "properties": {
            "type": enum("The block type.", BLOCK_TYPES),
            "text": required_text("The block's text.", max_length=2000),
            "checked": {"type": "boolean", "description": "For to_do blocks."},
        },
        "required": ["type", "text"],
        "additionalProperties": False,
    },
}


PROPERTIES = json_object_text(
    'Properties in Notion\'s own format, e.g. {"Status": {"select": {"name": "Done"}}}; '
    "plain strings set a title, rich text or select by its type."
)


def _plain(rich: list[dict] | None) -> str:
    return "".join(
        part.get("plain_text") or (part.get("text") or {}).get("content", "") for part in rich or []
    )


def _rich(content: str) -> list[dict]:
    return [{"type": "text", "text": {"content": content}}]


def _title(raw: dict) -> str:
    if raw.get("object") == "database":
        return _plain(raw.get("title"))
    for value in (raw.get("properties") or {}).values():
        if value.get("type") == "title":
            return _plain(value.get("title"))
    return ""


def _property(value: dict) -> Any:
    kind = value.get("type")
    data = value.get(kind)
    if kind in ("title", "rich_text"):
        return _plain(data)
    if kind in ("select", "status"):
        return (data or {}).get("name")
    if kind == "multi_select":
        return [option.get("name") for option in data or []]
    if kind == "date":
        return (data or {}).get("start")
    if kind == "people":
        return [p.get("name") or p.get("id") for p in data or []]
    if kind in ("number", "checkbox", "url", "email", "phone_number"):
        return data
    return None


def _page(raw: dict) -> dict[str, Any]:
    return compact(
        {
            "id": raw.get("id"),
            "type": raw.get("object"),
            "title": _title(raw),
            "url": raw.get("url"),
            "last_edited": raw.get("last_edited_time"),
            "archived": raw.get("archived") or None,
            "properties": {
                name: _property(value)
                for name, value in (raw.get("properties") or {}).items()
                if raw.get("object") == "page" and _property(value) not in (None, "", [])
            },
        }
    )


def _block(spec: dict) -> dict:
    kind = spec["type"]
    content: dict[str, Any] = {"rich_text": _rich(spec["text"])}
    if kind == "to_do":
        content["checked"] = bool(spec.get("checked"))
    return {"object": "block", "type": kind, kind: content}


def _block_text(block: dict) -> str | None:
    kind = str(block.get("type") or "")
    text_ = _plain((block.get(kind) or {}).get("rich_text"))
    if not text_:
        return None
    prefix = {"bulleted_list_item": "- ", "numbered_list_item": "1. ", "to_do": "[ ] "}.get(
        kind, ""
    )
    if kind and kind.startswith("heading_"):
        prefix = "#" * int(kind[-1]) + " "
    if kind == "to_do" and (block.get("to_do") or {}).get("checked"):
        prefix = "[x] "
    return prefix + text_


toolset = Toolset(scopes=())


@toolset.read(
    "notion_search",
    "Search the pages and databases the user shared with the integration, by "
    "title: id, title, url, properties.",
    obj(
        {
            "query": text("Words in the title (empty: the latest).", max_length=200),
            "type": enum("Only pages or only databases.", ["page", "database"]),
            "limit": limit(20, 100),
        }
    ),
)
def search(ctx: ToolContext, params: dict) -> dict:
    body: dict[str, Any] = {"page_size": params.get("limit", 20)}
    if params.get("query"):
        body["query"] = params["query"]
    if params.get("type"):
        body["filter"] = {"property": "object", "value": params["type"]}
    found = ctx.post("/search", json=body)
    return {"results": [_page(r) for r in found.get("results") or []]}


@toolset.read(
    "notion_get_page",
    "A page: its title, properties and content as text (headings, lists, to-dos).",
    obj({"page_id": ID}, ["page_id"]),
)
def get_page(ctx: ToolContext, params: dict) -> dict:
    page_id = quote(params["page_id"], safe="-")
    page = _page(ctx.get(f"/pages/{page_id}"))
    children = ctx.get(f"/blocks/{page_id}/children", params={"page_size": 100})
    lines = [line for b in children.get("results") or [] if (line := _block_text(b))]
    return {**page, "content": "\n".join(lines)[:20_000]}


def _properties(ctx: ToolContext, parent_database: str | None, given: dict[str, Any]) -> dict:
    """Plain values become the property shape the database declares for them."""
    if not given:
        return {}
    kinds: dict[str, str] = {}
    if parent_database:
        schema = ctx.get(f"/databases/{quote(parent_database, safe='-')}")
        kinds = {name: p.get("type", "") for name, p in (schema.get("properties") or {}).items()}
    shaped = {}
    for name, value in given.items():
        if not isinstance(value, str):
            shaped[name] = value
            continue
        kind = kinds.get(name, "rich_text")
        if kind == "title":
            shaped[name] = {"title": _rich(value)}
        elif kind in ("select", "status"):
            shaped[name] = {kind: {"name": value}}
        elif kind == "date":
            shaped[name] = {"date": {"start": value}}
        elif kind in ("url", "email", "phone_number"):
            shaped[name] = {kind: value}
        else:
            shaped[name] = {"rich_text": _rich(value)}
    return shaped


@toolset.write(
    "notion_create_page",
    "Create a page under a page or in a database (with property values), "
    "optionally with content blocks. Returns its id and url.",
    obj(
        {
            "parent_page_id": text("Create it under this page.", max_length=64),
            "parent_database_id": text("Or as a row of this database.", max_length=64),
            "title": text("The page's title.", max_length=2000),
            "properties": PROPERTIES,
            "content": BLOCKS,
        }
    ),
)
def create_page(ctx: ToolContext, params: dict) -> dict:
    database = params.get("parent_database_id")
    page = params.get("parent_page_id")
    if bool(database) == bool(page):
        raise ToolInvalid("Give exactly one parent: parent_page_id or parent_database_id.")
    properties = _properties(ctx, database, json_object(params, "properties", max_keys=50))
    if database:
        if params.get("title"):
            schema = ctx.get(f"/databases/{quote(database, safe='-')}")
            title_name = next(
                (
                    n
                    for n, p in (schema.get("properties") or {}).items()
                    if p.get("type") == "title"
                ),
                "Name",
            )
            properties[title_name] = {"title": _rich(params["title"])}
        parent = {"database_id": database}
    else:
        properties["title"] = {"title": _rich(params.get("title") or "Untitled")}
        parent = {"page_id": page}
    body: dict[str, Any] = {"parent": parent, "properties": properties}
    if params.get("content"):
        body["children"] = [_block(spec) for spec in params["content"]]
    return _page(ctx.post("/pages", json=body))


@toolset.write(
    "notion_update_page_properties",
    "Change a page's properties (a database row's status, dates, text), or archive it.",
    obj(
        {
            "page_id": ID,
            "properties": PROPERTIES,
            "archived": {"type": "boolean", "description": "Archive (true) or restore it."},
        },
        ["page_id", "properties"],
    ),
)
def update_page_properties(ctx: ToolContext, params: dict) -> dict:
    page_id = quote(params["page_id"], safe="-")
    current = ctx.get(f"/pages/{page_id}")
    database = (current.get("parent") or {}).get("database_id")
    changes = json_object(params, "properties", max_keys=50)
    if not changes:
        raise ToolInvalid("properties must name at least one property.")
    body: dict[str, Any] = {"properties": _properties(ctx, database, changes)}
    if "archived" in params:
        body["archived"] = params["archived"]
    return _page(ctx.patch(f"/pages/{page_id}", json=body))


@toolset.write(
    "notion_append_blocks",
    "Add content at the end of a page (or inside a block): paragraphs, "
    "headings, bullets, numbered items, to-dos, quotes.",
    obj({"block_id": ID, "blocks": BLOCKS}, ["block_id", "blocks"]),
)
def append_blocks(ctx: ToolContext, params: dict) -> dict:
    added = ctx.patch(
        f"/blocks/{quote(params['block_id'], safe='-')}/children",
        json={"children": [_block(spec) for spec in params["blocks"]]},
    )
    return {"added": len(added.get("results") or []), "block_id": params["block_id"]}


@toolset.read(
    "notion_query_database",
    "Rows of a database, optionally filtered (Notion's filter object) and "
    "sorted by a property: id, title, url, property values.",
    obj(
        {
            "database_id": ID,
            "filter": json_object_text("A Notion filter object."),
            "sort_by": text("A property name to sort by.", max_length=100),
            "direction": enum("Sort direction.", ["ascending", "descending"]),
            "limit": limit(20, 100),
        },
        ["database_id"],
    ),
)
def query_database(ctx: ToolContext, params: dict) -> dict:
    body: dict[str, Any] = {"page_size": params.get("limit", 20)}
    query_filter = json_object(params, "filter")
    if query_filter:
        body["filter"] = query_filter
    if params.get("sort_by"):
        body["sorts"] = [
            {"property": params["sort_by"], "direction": params.get("direction", "descending")}
        ]
    found = ctx.post(f"/databases/{quote(params['database_id'], safe='-')}/query", json=body)
    return {"pages": [_page(r) for r in found.get("results") or []]}


TOOLS = toolset.tools
