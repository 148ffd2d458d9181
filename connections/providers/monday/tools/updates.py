"""Updates: the comments on an item."""

from __future__ import annotations

from typing import Any

from connections.errors import ToolNotFound
from connections.providers.monday.api import graphql
from connections.providers.monday.shapes import (
    LIMIT,
    id_param,
    schema,
)
from connections.tooling import ToolContext, Toolset

toolset = Toolset(scopes=("boards:write",))


def _update(raw: dict[str, Any]) -> dict[str, Any]:
    creator = raw.get("creator") or {}
    return {
        "id": str(raw.get("id")),
        "text": raw.get("text_body") or raw.get("body"),
        "created_at": raw.get("created_at"),
        "creator": creator.get("name"),
    }


@toolset.write(
    "monday_add_update",
    "Post an update (a comment) on an item. Returns the update's id and text.",
    schema(
        {
            "item_id": id_param("The item's id."),
            "body": {
                "type": "string",
                "minLength": 1,
                "maxLength": 10000,
                "description": "The update's text (simple HTML allowed).",
            },
        },
        ["item_id", "body"],
    ),
    scopes=("updates:write",),
)
def add_update(ctx: ToolContext, params: dict) -> dict:
    data = graphql(
        ctx,
        "mutation ($item_id: ID!, $body: String!) { create_update(item_id: $item_id, body: $body) "
        "{ id body text_body created_at creator { id name } } }",
        {"item_id": str(params["item_id"]), "body": params["body"]},
    )
    return _update(data.get("create_update") or {})


@toolset.read(
    "monday_list_updates",
    "The latest updates (comments) on an item, newest first.",
    schema(
        {
            "item_id": id_param("The item's id."),
            "limit": {**LIMIT, "description": "How many updates (1-100, default 25)."},
        },
        ["item_id"],
    ),
    scopes=("updates:read",),
)
def list_updates(ctx: ToolContext, params: dict) -> dict:
    data = graphql(
        ctx,
        "query ($ids: [ID!], $limit: Int) { items(ids: $ids) { id updates(limit: $limit) "
        "{ id body text_body created_at creator { id name } } } }",
        {"ids": [str(params["item_id"])], "limit": params.get("limit", 25)},
    )
    items = data.get("items") or []
    if not items:
        raise ToolNotFound(
            f"monday.com: item {params['item_id']} not found or not visible to this user."
        )
    return {"updates": [_update(update) for update in items[0].get("updates") or []]}


TOOLS = toolset.tools
