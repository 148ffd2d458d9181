"""What monday's tools share: id parameters, item fields and their compact shape, and
the conversion of friendly column values."""

from __future__ import annotations

import json
import re
from typing import Any

from connections.errors import ToolNotFound
from connections.providers.monday.api import graphql
from connections.providers.schema import json_object_text
from connections.tooling import ToolContext

# monday ids are numbers that outgrow JavaScript's; they travel as digits in a string
# (a number given for one is taken as its digits, see connections.tools.validate_params).
ID = {"type": "string", "pattern": "^[0-9]{1,20}$"}


def id_param(description: str) -> dict[str, Any]:
    return {**ID, "description": description}


def schema(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": properties,
        "required": required or [],
        "additionalProperties": False,
    }


LIMIT = {"type": "integer", "minimum": 1, "maximum": 100}


DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


COLUMN_VALUES = json_object_text(
    "Column values keyed by column id (see monday_get_board). Plain values are "
    'converted: a status label like {"status": "Done"}, a date as "YYYY-MM-DD", '
    "text as a string; monday's own JSON shapes are passed through."
)


def convert_column_values(values: dict[str, Any], column_types: dict[str, str]) -> str:
    """Friendly values → the JSON string monday expects, by each column's type."""
    converted: dict[str, Any] = {}
    for column_id, value in values.items():
        kind = column_types.get(column_id, "")
        if isinstance(value, str) and kind in {"status", "color"}:
            converted[column_id] = {"label": value}
        elif isinstance(value, str) and (kind == "date" or (not kind and DATE.match(value))):
            converted[column_id] = {"date": value}
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            converted[column_id] = str(value)
        else:
            converted[column_id] = value
    return json.dumps(converted)


def column_types(ctx: ToolContext, board_id: str) -> dict[str, str]:
    data = graphql(
        ctx,
        "query ($ids: [ID!]) { boards(ids: $ids) { columns { id type } } }",
        {"ids": [board_id]},
    )
    boards = data.get("boards") or []
    if not boards:
        raise ToolNotFound(f"monday.com: board {board_id} not found or not visible to this user.")
    return {column["id"]: column["type"] for column in boards[0].get("columns") or []}


ITEM_FIELDS = (
    "id name url state board { id name } group { id title } column_values { id text type }"
)


def compact_item(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    """Compact item JSON an LLM can read: ids, names, url, column texts."""
    if not raw:
        return None
    item = {
        "id": str(raw.get("id")),
        "name": raw.get("name"),
        "url": raw.get("url"),
        "state": raw.get("state"),
    }
    if raw.get("board"):
        item["board"] = {"id": str(raw["board"]["id"]), "name": raw["board"].get("name")}
    if raw.get("group"):
        item["group"] = {"id": raw["group"]["id"], "title": raw["group"].get("title")}
    if raw.get("column_values") is not None:
        item["columns"] = {
            value["id"]: value.get("text") for value in raw["column_values"] if value.get("text")
        }
    return {key: value for key, value in item.items() if value is not None}
