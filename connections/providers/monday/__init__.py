"""monday.com.

OAuth 2.1 flow (monday's "oauth_ms" endpoints): PKCE S256, expiring access
tokens, and a new refresh token on every refresh (the old one stops working).
The GraphQL API lives at https://api.monday.com/v2 and takes an `API-Version`
header (https://developer.monday.com/api-reference/docs/api-versioning).
"""

import json
import re
from typing import Any

from connections.errors import (
    ProviderUnavailable,
    ToolForbidden,
    ToolInvalid,
    ToolNotFound,
    ToolRateLimited,
)
from connections.providers.catalog import Provider
from connections.providers.schema import json_object_text
from connections.tooling import Tool, ToolContext, json_object
from core.outbound import Response

API_VERSION = "2025-04"

SCOPES = (
    "me:read",
    "boards:read",
    "boards:write",
    "updates:read",
    "updates:write",
    "users:read",
    "workspaces:read",
    "account:read",
    "assets:read",
    "docs:read",
    "docs:write",
    "tags:read",
    "teams:read",
    "webhooks:read",
    "webhooks:write",
)


# --- GraphQL client ----------------------------------------------------------------------
# Every argument goes in `variables`, never spliced into the query text.

NOT_FOUND_CODES = {
    "InvalidBoardIdException",
    "InvalidItemIdException",
    "ResourceNotFoundException",
    "ItemNotFoundException",
    "BoardNotFoundException",
}
INVALID_INPUT_CODES = {
    "ColumnValueException",
    "InvalidColumnIdException",
    "InvalidGroupIdException",
    "InvalidArgumentException",
    "CorrectedValueException",
}
RATE_LIMIT_CODES = {
    "COMPLEXITY_BUDGET_EXHAUSTED",
    "ComplexityException",
    "RateLimitExceeded",
    "RATE_LIMIT_EXCEEDED",
    "maxConcurrencyExceeded",
    "IP_RATE_LIMIT_EXCEEDED",
}
FORBIDDEN_CODES = {"UserUnauthorizedException", "missingRequiredPermissions", "Forbidden"}
SCOPE_IN_MESSAGE = re.compile(r"\b([a-z]+:(?:read|write))\b")


def graphql(ctx: ToolContext, query: str, variables: dict[str, Any] | None = None) -> dict:
    """POST one GraphQL operation; return `data` (errors are mapped by raise_for_body)."""
    body = ctx.post("", json={"query": query, "variables": variables or {}})
    return (body or {}).get("data") or {}


def raise_for_body(body: Any, response: Response, provider: Provider) -> None:
    """monday reports application errors as HTTP 200 with `errors[]`
    (https://developer.monday.com/api-reference/docs/error-handling); older ones as
    `{error_code, error_message}`."""
    if not isinstance(body, dict):
        if response.status_code < 400:
            raise ProviderUnavailable("monday.com sent an answer that is not an object.")
        return
    errors = body.get("errors") or ([body] if body.get("error_code") else [])
    if errors:
        _raise_for(errors[0], response)


def _int(value: Any) -> int | None:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _raise_for(error: Any, response: Response) -> None:
    if isinstance(error, str):  # the legacy ComplexityException shape lists plain strings
        error = {"message": error}
    extensions = error.get("extensions") or {}
    code = extensions.get("code") or error.get("error_code") or ""
    message = str(error.get("message") or error.get("error_message") or code or "error")[:300]
    status = extensions.get("status_code") or error.get("status_code")
    if code in RATE_LIMIT_CODES or status == 429:
        retry = extensions.get("retry_in_seconds") or response.headers.get("Retry-After")
        if retry is None and "reset in" in message:
            retry = message.rsplit("reset in", 1)[1].split()[0]
        raise ToolRateLimited(f"monday.com rate limit: {message}", retry_after=_int(retry))
    if code in FORBIDDEN_CODES or status == 403 or "scope" in message.lower():
        scope = SCOPE_IN_MESSAGE.search(message)
        raise ToolForbidden(
            "The connected account may not do this"
            + (f" (missing scope {scope.group(1)})" if scope else "")
            + f": {message}",
            details={"provider_code": code, "scope": scope.group(1) if scope else None},
        )
    if code in NOT_FOUND_CODES or status == 404:
        raise ToolNotFound(f"monday.com: {message}", details={"provider_code": code})
    if code in INVALID_INPUT_CODES or status in (400, 422):
        raise ToolInvalid(
            f"monday.com refused the input: {message}", details={"provider_code": code}
        )
    raise ProviderUnavailable(f"monday.com answered with an error: {message}")


# --- Input helpers -----------------------------------------------------------------------

# monday ids are numbers that outgrow JavaScript's; they travel as digits in a string
# (a number given for one is taken as its digits, see connections.tools.validate_params).
ID = {"type": "string", "pattern": "^[0-9]{1,20}$"}


def _id(description: str) -> dict[str, Any]:
    return {**ID, "description": description}


def _schema(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
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


def _column_types(ctx: ToolContext, board_id: str) -> dict[str, str]:
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


def _item(raw: dict[str, Any] | None) -> dict[str, Any] | None:
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


# --- Handlers ----------------------------------------------------------------------------


def get_me(ctx: ToolContext, params: dict) -> dict:
    data = graphql(ctx, "query { me { id name email title account { id name } } }")
    me = data.get("me") or {}
    return {
        "id": str(me.get("id")),
        "name": me.get("name"),
        "email": me.get("email"),
        "account": (me.get("account") or {}).get("name"),
    }


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


def list_items(ctx: ToolContext, params: dict) -> dict:
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
        "items": [_item(item) for item in page.get("items") or []],
        "next_cursor": page.get("cursor"),
    }


def get_item(ctx: ToolContext, params: dict) -> dict:
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
    return _item(items[0])


def create_item(ctx: ToolContext, params: dict) -> dict:
    board_id = str(params["board_id"])
    variables: dict[str, Any] = {"board_id": board_id, "item_name": params["item_name"]}
    if params.get("group_id"):
        variables["group_id"] = params["group_id"]
    column_values = json_object(params, "column_values", max_keys=50)
    if column_values:
        variables["column_values"] = convert_column_values(
            column_values, _column_types(ctx, board_id)
        )
    data = graphql(
        ctx,
        "mutation ($board_id: ID!, $group_id: String, $item_name: String!, $column_values: JSON) "
        "{ create_item(board_id: $board_id, group_id: $group_id, item_name: $item_name, "
        f"column_values: $column_values) {{ {ITEM_FIELDS} }} }}",
        variables,
    )
    return _item(data.get("create_item"))


def update_item(ctx: ToolContext, params: dict) -> dict:
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
            "column_values": convert_column_values(column_values, _column_types(ctx, board_id)),
        },
    )
    return _item(data.get("change_multiple_column_values"))


def move_item_to_group(ctx: ToolContext, params: dict) -> dict:
    data = graphql(
        ctx,
        f"mutation ($item_id: ID!, $group_id: String!) {{ move_item_to_group(item_id: $item_id, group_id: $group_id) {{ {ITEM_FIELDS} }} }}",
        {"item_id": str(params["item_id"]), "group_id": params["group_id"]},
    )
    return _item(data.get("move_item_to_group"))


def archive_item(ctx: ToolContext, params: dict) -> dict:
    data = graphql(
        ctx,
        "mutation ($item_id: ID!) { archive_item(item_id: $item_id) { id name state } }",
        {"item_id": str(params["item_id"])},
    )
    return _item(data.get("archive_item"))


def delete_item(ctx: ToolContext, params: dict) -> dict:
    data = graphql(
        ctx,
        "mutation ($item_id: ID!) { delete_item(item_id: $item_id) { id name state } }",
        {"item_id": str(params["item_id"])},
    )
    return _item(data.get("delete_item"))


def _update(raw: dict[str, Any]) -> dict[str, Any]:
    creator = raw.get("creator") or {}
    return {
        "id": str(raw.get("id")),
        "text": raw.get("text_body") or raw.get("body"),
        "created_at": raw.get("created_at"),
        "creator": creator.get("name"),
    }


def add_update(ctx: ToolContext, params: dict) -> dict:
    data = graphql(
        ctx,
        "mutation ($item_id: ID!, $body: String!) { create_update(item_id: $item_id, body: $body) "
        "{ id body text_body created_at creator { id name } } }",
        {"item_id": str(params["item_id"]), "body": params["body"]},
    )
    return _update(data.get("create_update") or {})


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


TOOLS = (
    Tool(
        name="monday_get_me",
        description="Who the connected monday.com user is: id, name, email and account. Use it to "
        "confirm whose permissions the other tools act with.",
        input_schema=_schema({}),
        required_scopes=("me:read",),
        write=False,
        handler=get_me,
    ),
    Tool(
        name="monday_list_boards",
        description="List the monday.com boards the user can see (id, name, url, item count). Use "
        "it first to find a board's id by its name.",
        input_schema=_schema(
            {
                "limit": {**LIMIT, "description": "How many boards to return (1-100, default 25)."},
                "workspace_id": _id("Only boards of this workspace."),
            }
        ),
        required_scopes=("boards:read",),
        write=False,
        handler=list_boards,
    ),
    Tool(
        name="monday_get_board",
        description="A board's structure: its groups (id, title) and columns (id, title, type, and "
        "the allowed labels of status columns). Use it before creating or updating items to "
        "learn column ids and valid status labels.",
        input_schema=_schema({"board_id": _id("The board's id.")}, ["board_id"]),
        required_scopes=("boards:read",),
        write=False,
        handler=get_board,
    ),
    Tool(
        name="monday_list_items",
        description="Items of a board, optionally filtered by group, status label or name text; "
        "returns ids, names, urls and column texts, plus next_cursor for the next page.",
        input_schema=_schema(
            {
                "board_id": _id("The board's id."),
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
        required_scopes=("boards:read",),
        write=False,
        handler=list_items,
    ),
    Tool(
        name="monday_get_item",
        description="One item: name, url, board, group and column texts.",
        input_schema=_schema({"item_id": _id("The item's id.")}, ["item_id"]),
        required_scopes=("boards:read",),
        write=False,
        handler=get_item,
    ),
    Tool(
        name="monday_create_item",
        description="Create an item on a board, optionally in a group and with column values "
        '(e.g. {"status": "In Progress", "date4": "2026-12-01"}). Returns the new item with its url.',
        input_schema=_schema(
            {
                "board_id": _id("The board's id."),
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
        required_scopes=("boards:write",),
        write=True,
        handler=create_item,
    ),
    Tool(
        name="monday_update_item",
        description="Change column values of an item (status, dates, text, …). Returns the updated item.",
        input_schema=_schema(
            {
                "board_id": _id("The item's board id."),
                "item_id": _id("The item's id."),
                "column_values": COLUMN_VALUES,
            },
            ["board_id", "item_id", "column_values"],
        ),
        required_scopes=("boards:write",),
        write=True,
        handler=update_item,
    ),
    Tool(
        name="monday_move_item_to_group",
        description="Move an item to another group of its board.",
        input_schema=_schema(
            {
                "item_id": _id("The item's id."),
                "group_id": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 100,
                    "description": "The target group's id.",
                },
            },
            ["item_id", "group_id"],
        ),
        required_scopes=("boards:write",),
        write=True,
        handler=move_item_to_group,
    ),
    Tool(
        name="monday_archive_item",
        description="Archive an item (it can be restored in monday.com).",
        input_schema=_schema({"item_id": _id("The item's id.")}, ["item_id"]),
        required_scopes=("boards:write",),
        write=True,
        handler=archive_item,
    ),
    Tool(
        name="monday_delete_item",
        description="Delete an item. Prefer monday_archive_item unless the user asked to delete.",
        input_schema=_schema({"item_id": _id("The item's id.")}, ["item_id"]),
        required_scopes=("boards:write",),
        write=True,
        handler=delete_item,
    ),
    Tool(
        name="monday_add_update",
        description="Post an update (a comment) on an item. Returns the update's id and text.",
        input_schema=_schema(
            {
                "item_id": _id("The item's id."),
                "body": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 10000,
                    "description": "The update's text (simple HTML allowed).",
                },
            },
            ["item_id", "body"],
        ),
        required_scopes=("updates:write",),
        write=True,
        handler=add_update,
    ),
    Tool(
        name="monday_list_updates",
        description="The latest updates (comments) on an item, newest first.",
        input_schema=_schema(
            {
                "item_id": _id("The item's id."),
                "limit": {**LIMIT, "description": "How many updates (1-100, default 25)."},
            },
            ["item_id"],
        ),
        required_scopes=("updates:read",),
        write=False,
        handler=list_updates,
    ),
)

ENTRY = {
    "key": "monday",
    "display_name": "monday.com",
    "docs_url": "https://developer.monday.com/apps/docs/oauth",
    "setup": {
        "register_url": "https://monday.com/developers/apps",
        "notes": "Create an app, open OAuth & Permissions, add the scopes below and the "
        "redirect URI.",
    },
    "oauth": {
        "authorize_url": "https://auth.monday.com/oauth2/authorize",
        "token_url": "https://auth.monday.com/oauth_ms/oauth/token",
        "scope_separator": " ",
        "default_scopes": [
            "me:read",
            "boards:read",
            "boards:write",
            "updates:read",
            "updates:write",
            "users:read",
            "workspaces:read",
        ],
        "scopes": {scope: "" for scope in SCOPES},
        # monday's OAuth 2.1 ("oauth_ms") endpoints: PKCE S256.
        "pkce": "required",
        "client_auth": "client_secret_post",
        "token_body": "form",
    },
    "refresh": {"rotates": True, "expiry_from_jwt": True},
    "revoke": {
        "url": "https://auth.monday.com/oauth_ms/oauth/revoke",
        "method": "POST",
        "auth": "client_secret_post",
        "body": "form",
        "token_param": "token",
        "token": "refresh_token",
    },
    "api": {
        "base_url": "https://api.monday.com/v2",
        "headers": {"API-Version": API_VERSION},
        # monday takes the token itself, no "Bearer".
        "auth_header": "raw",
        "rate_limit": {"retry_after": ["retry-after"]},
    },
    "whoami": {
        "method": "POST",
        "path": "",
        "json": {"query": "query { me { id name email } }"},
        "id": "data.me.id",
        "label": ["data.me.email", "data.me.name"],
    },
}
