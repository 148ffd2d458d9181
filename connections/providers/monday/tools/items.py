"""Items: list, read, create, change, move, archive, delete."""

from __future__ import annotations

from typing import Any

from connections.errors import ToolInvalid, ToolNotFound
from connections.providers.monday.api import graphql
from connections.providers.monday.shapes import (
    COLUMN_VALUES,
    ITEM_FIELDS,
    LIMIT,
    column_types,
    compact_item,
    convert_column_values,
    id_param,
    schema,
)
from connections.tooling import ToolContext, Toolset, json_object

toolset = Toolset(scopes=("boards:write",))


@toolset.read(
    "monday_list_items",
    "Items of a board, optionally filtered by group, status label or name text; "
    "returns ids, names, urls and column texts, plus next_cursor for the next page.",
    schema(
        {
            "board_id": id_param("The board's id."),
            "group_id": {
                "type": "string",
                "maxLength": 100,
                "description": "Only items of this group.",
            },
            "status": {
                "type": "string",
                "maxLength": 100,
                "description": "Only items whose status label is this.",
            },
            "search": {
                "type": "string",
                "maxLength": 200,
                "description": "Only items whose name contains this text.",
            },
            "limit": {**LIMIT, "description": "Page size (1-100, default 25)."},
            "cursor": {
                "type": "string",
                "maxLength": 2000,
                "description": "next_cursor of the previous page.",
            },
        },
        ["board_id"],
    ),
    scopes=("boards:read",),
)
def list_items(ctx: ToolContext, params: dict) -> dict[str, Any] | None:
    limit = params.get("limit", 25)
    fields = f"cursor items {{ {ITEM_FIELDS} }}"
    if params.get("cursor"):
        data = graphql(
            ctx,
            f"query ($cursor: String!, $limit: Int) {{ next_items_page(cursor: $cursor, limit: $limit) {{ {fields} }} }}",
            {"cursor": params["cursor"], "limit": limit},
        )
        page = data.get("next_items_page") or {}
    else:
        rules = []
        if params.get("group_id"):
            rules.append(
                {"column_id": "group", "compare_value": [params["group_id"]], "operator": "any_of"}
            )
        if params.get("status"):
            rules.append(
                {
                    "column_id": "status",
                    "compare_value": [params["status"]],
                    "operator": "contains_terms",
                }
            )
        if params.get("search"):
            rules.append(
                {
                    "column_id": "name",
                    "compare_value": [params["search"]],
                    "operator": "contains_text",
                }
            )
        variables: dict[str, Any] = {"ids": [str(params["board_id"])], "limit": limit}
        if rules:
            variables["query_params"] = {"rules": rules}
        data = graphql(
            ctx,
            "query ($ids: [ID!], $limit: Int, $query_params: ItemsQuery) { boards(ids: $ids) "
            f"{{ items_page(limit: $limit, query_params: $query_params) {{ {fields} }} }} }}",
            variables,
        )
        boards = data.get("boards") or []
        if not boards:
            raise ToolNotFound(
                f"monday.com: board {params['board_id']} not found or not visible to this user."
            )
        page = boards[0].get("items_page") or {}
    return {
        "items": [compact_item(item) for item in page.get("items") or []],
        "next_cursor": page.get("cursor"),
    }


@toolset.read(
    "monday_get_item",
    "One item: name, url, board, group and column texts.",
    schema({"item_id": id_param("The item's id.")}, ["item_id"]),
    scopes=("boards:read",),
)
def get_item(ctx: ToolContext, params: dict) -> dict[str, Any] | None:
    data = graphql(
        ctx,
        f"query ($ids: [ID!]) {{ items(ids: $ids) {{ {ITEM_FIELDS} }} }}",
        {"ids": [str(params["item_id"])]},
    )
    items = data.get("items") or []
    if not items:
        raise ToolNotFound(
            f"monday.com: item {params['item_id']} not found or not visible to this user."
        )
    return compact_item(items[0])


@toolset.write(
    "monday_create_item",
    "Create an item on a board, optionally in a group and with column values "
    '(e.g. {"status": "In Progress", "date4": "2026-12-01"}). Returns the new item with its url.',
    schema(
        {
            "board_id": id_param("The board's id."),
            "item_name": {
                "type": "string",
                "minLength": 1,
                "maxLength": 255,
                "description": "The new item's name.",
            },
            "group_id": {
                "type": "string",
                "maxLength": 100,
                "description": "The group to create it in (default: the board's top group).",
            },
            "column_values": COLUMN_VALUES,
        },
        ["board_id", "item_name"],
    ),
)
def create_item(ctx: ToolContext, params: dict) -> dict[str, Any] | None:
    board_id = str(params["board_id"])
    variables: dict[str, Any] = {"board_id": board_id, "item_name": params["item_name"]}
    if params.get("group_id"):
        variables["group_id"] = params["group_id"]
    column_values = json_object(params, "column_values", max_keys=50)
    if column_values:
        variables["column_values"] = convert_column_values(
            column_values, column_types(ctx, board_id)
        )
    data = graphql(
        ctx,
        "mutation ($board_id: ID!, $group_id: String, $item_name: String!, $column_values: JSON) "
        "{ create_item(board_id: $board_id, group_id: $group_id, item_name: $item_name, "
        f"column_values: $column_values) {{ {ITEM_FIELDS} }} }}",
        variables,
    )
    return compact_item(data.get("create_item"))


@toolset.write(
    "monday_update_item",
    "Change column values of an item (status, dates, text, …). Returns the updated item.",
    schema(
        {
            "board_id": id_param("The item's board id."),
            "item_id": id_param("The item's id."),
            "column_values": COLUMN_VALUES,
        },
        ["board_id", "item_id", "column_values"],
    ),
)
def update_item(ctx: ToolContext, params: dict) -> dict[str, Any] | None:
    board_id = str(params["board_id"])
    column_values = json_object(params, "column_values", max_keys=50)
    if not column_values:
        raise ToolInvalid("column_values must name at least one column.")
    data = graphql(
        ctx,
        "mutation ($board_id: ID!, $item_id: ID!, $column_values: JSON!) "
        "{ change_multiple_column_values(board_id: $board_id, item_id: $item_id, "
        f"column_values: $column_values) {{ {ITEM_FIELDS} }} }}",
        {
            "board_id": board_id,
            "item_id": str(params["item_id"]),
            "column_values": convert_column_values(column_values, column_types(ctx, board_id)),
        },
    )
    return compact_item(data.get("change_multiple_column_values"))


@toolset.write(
    "monday_move_item_to_group",
    "Move an item to another group of its board.",
    schema(
        {
            "item_id": id_param("The item's id."),
            "group_id": {
                "type": "string",
                "minLength": 1,
                "maxLength": 100,
                "description": "The target group's id.",
            },
        },
        ["item_id", "group_id"],
    ),
)
def move_item_to_group(ctx: ToolContext, params: dict) -> dict[str, Any] | None:
    data = graphql(
        ctx,
        f"mutation ($item_id: ID!, $group_id: String!) {{ move_item_to_group(item_id: $item_id, group_id: $group_id) {{ {ITEM_FIELDS} }} }}",
        {"item_id": str(params["item_id"]), "group_id": params["group_id"]},
    )
    return compact_item(data.get("move_item_to_group"))


@toolset.write(
    "monday_archive_item",
    "Archive an item (it can be restored in monday.com).",
    schema({"item_id": id_param("The item's id.")}, ["item_id"]),
)
def archive_item(ctx: ToolContext, params: dict) -> dict[str, Any] | None:
    data = graphql(
        ctx,
        "mutation ($item_id: ID!) { archive_item(item_id: $item_id) { id name state } }",
        {"item_id": str(params["item_id"])},
    )
    return compact_item(data.get("archive_item"))


@toolset.write(
    "monday_delete_item",
    "Delete an item. Prefer monday_archive_item unless the user asked to delete.",
    schema({"item_id": id_param("The item's id.")}, ["item_id"]),
)
def delete_item(ctx: ToolContext, params: dict) -> dict[str, Any] | None:
    data = graphql(
        ctx,
        "mutation ($item_id: ID!) { delete_item(item_id: $item_id) { id name state } }",
        {"item_id": str(params["item_id"])},
    )
    return compact_item(data.get("delete_item"))


TOOLS = toolset.tools
