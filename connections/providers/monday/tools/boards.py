"""Who the user is, and their boards."""

from __future__ import annotations

import json
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


@toolset.read(
    "monday_get_me",
    "Who the connected monday.com user is: id, name, email and account. Use it to "
    "confirm whose permissions the other tools act with.",
    schema({}),
    scopes=("me:read",),
)
def get_me(ctx: ToolContext, params: dict) -> dict:
    data = graphql(ctx, "query { me { id name email title account { id name } } }")
    me = data.get("me") or {}
    return {
        "id": str(me.get("id")),
        "name": me.get("name"),
        "email": me.get("email"),
        "account": (me.get("account") or {}).get("name"),
    }


@toolset.read(
    "monday_list_boards",
    "List the monday.com boards the user can see (id, name, url, item count). Use "
    "it first to find a board's id by its name.",
    schema(
        {
            "limit": {**LIMIT, "description": "How many boards to return (1-100, default 25)."},
            "workspace_id": id_param("Only boards of this workspace."),
        }
    ),
    scopes=("boards:read",),
    examples=("which projects am I on", "what workspaces and plans do we track"),
)
def list_boards(ctx: ToolContext, params: dict) -> dict:
    variables: dict[str, Any] = {"limit": params.get("limit", 25)}
    if params.get("workspace_id") is not None:
        variables["workspace_ids"] = [str(params["workspace_id"])]
    data = graphql(
        ctx,
        "query ($limit: Int, $workspace_ids: [ID]) { boards(limit: $limit, workspace_ids: $workspace_ids) "
        "{ id name url state workspace_id items_count } }",
        variables,
    )
    return {
        "boards": [
            {
                "id": str(board["id"]),
                "name": board.get("name"),
                "url": board.get("url"),
                "workspace_id": board.get("workspace_id"),
                "items_count": board.get("items_count"),
            }
            for board in data.get("boards") or []
        ]
    }


@toolset.read(
    "monday_get_board",
    "A board's structure: its groups (id, title) and columns (id, title, type, and "
    "the allowed labels of status columns). Use it before creating or updating items to "
    "learn column ids and valid status labels.",
    schema({"board_id": id_param("The board's id.")}, ["board_id"]),
    scopes=("boards:read",),
)
def get_board(ctx: ToolContext, params: dict) -> dict:
    data = graphql(
        ctx,
        "query ($ids: [ID!]) { boards(ids: $ids) { id name url groups { id title } "
        "columns { id title type settings_str } } }",
        {"ids": [str(params["board_id"])]},
    )
    boards = data.get("boards") or []
    if not boards:
        raise ToolNotFound(
            f"monday.com: board {params['board_id']} not found or not visible to this user."
        )
    board = boards[0]
    columns = []
    for column in board.get("columns") or []:
        entry = {"id": column["id"], "title": column.get("title"), "type": column.get("type")}
        labels = _status_labels(column)
        if labels:
            entry["labels"] = labels
        columns.append(entry)
    return {
        "id": str(board["id"]),
        "name": board.get("name"),
        "url": board.get("url"),
        "groups": [{"id": g["id"], "title": g.get("title")} for g in board.get("groups") or []],
        "columns": columns,
    }


def _status_labels(column: dict) -> list[str]:
    if column.get("type") not in {"status", "color"}:
        return []
    try:
        labels = json.loads(column.get("settings_str") or "{}").get("labels") or {}
    except ValueError:
        return []
    return [label for _, label in sorted(labels.items(), key=lambda kv: int(kv[0])) if label]


TOOLS = toolset.tools
