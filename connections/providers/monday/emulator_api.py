"""monday.com GraphQL API emulator (POST /v2), attached to a MondayEmulator.

Not a GraphQL engine: it recognises the operation by the first field of the
query and reads every argument from `variables` (the portal always sends them
that way). Shapes follow https://developer.monday.com/api-reference/docs/error-handling:
application errors are HTTP 200 with `errors[{message, extensions{code, status_code}}]`;
a bad token is HTTP 401; rate limits are HTTP 429 with Retry-After, or HTTP 200 with
COMPLEXITY_BUDGET_EXHAUSTED and `retry_in_seconds`.

Permissions, deliberately strict so tests are deterministic: a user who is not a
member of a board gets UserUnauthorizedException for any read or write of it;
each operation needs its OAuth scope (missingRequiredPermissions otherwise).

Controls: add_board, add_item, fail_next_api_requests(n, status), rate_limit_next(n,
retry_after, kind="http429"|"complexity"), emulator.api_delay. Log: api_requests.
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
import time
from datetime import date
from typing import Any

OPERATION = re.compile(r"^\s*(query|mutation)?\s*(\([^)]*\))?\s*\{\s*(\w+)", re.S)
SCOPES = {
    "me": "me:read",
    "boards": "boards:read",
    "items": "boards:read",
    "next_items_page": "boards:read",
    "create_item": "boards:write",
    "change_multiple_column_values": "boards:write",
    "move_item_to_group": "boards:write",
    "archive_item": "boards:write",
    "delete_item": "boards:write",
    "create_update": "updates:write",
}


class ApiError(Exception):
    def __init__(self, code: str, message: str, status_code: int = 200, **extra: Any) -> None:
        super().__init__(message)
        self.code, self.message, self.status_code, self.extra = code, message, status_code, extra


class MondayApi:
    def __init__(self, emulator) -> None:
        self.emulator = emulator
        emulator.api = self
        self.boards: dict[str, dict[str, Any]] = {}
        self.items: dict[str, dict[str, Any]] = {}
        self.cursors: dict[str, dict[str, Any]] = {}
        self.api_requests: list[dict[str, Any]] = []
        self._failures: list[int] = []
        self._rate_limits: list[tuple[str, int]] = []
        self._ids = itertools.count(5_000_000_001)

    # --- seeding ---------------------------------------------------------------------------
    def add_board(
        self,
        board_id: int | str,
        name: str,
        *,
        members: list[int],
        workspace_id: int | None = None,
        groups: list[tuple[str, str]] | None = None,
        columns: list[dict[str, Any]] | None = None,
    ) -> str:
        board_id = str(board_id)
        self.boards[board_id] = {
            "id": board_id,
            "name": name,
            "workspace_id": workspace_id,
            "members": set(members),
            "groups": groups or [("topics", "Group Title")],
            "columns": columns
            if columns is not None
            else [
                {
                    "id": "status",
                    "title": "Status",
                    "type": "status",
                    "labels": {"0": "Working on it", "1": "Done", "2": "Stuck", "5": "In Progress"},
                },
                {"id": "date4", "title": "Due", "type": "date"},
                {"id": "text", "title": "Notes", "type": "text"},
            ],
        }
        return board_id

    def add_item(
        self, board_id: int | str, name: str, *, group_id: str | None = None, **columns: Any
    ) -> str:
        board = self.boards[str(board_id)]
        item_id = str(next(self._ids))
        self.items[item_id] = {
            "id": item_id,
            "name": name,
            "board_id": board["id"],
            "group_id": group_id or board["groups"][0][0],
            "state": "active",
            "values": {},
            "updates": [],
            "created_at": "2026-11-01T10:00:00Z",
        }
        if columns:
            self._set_values(board, self.items[item_id], columns)
        return item_id

    def fail_next_api_requests(self, n: int, status: int = 503) -> None:
        self._failures.extend([status] * n)

    def rate_limit_next(self, n: int, retry_after: int = 30, kind: str = "http429") -> None:
        self._rate_limits.extend([(kind, retry_after)] * n)

    def active_items(self) -> list[dict[str, Any]]:
        return [item for item in self.items.values() if item["state"] == "active"]

    # --- HTTP ------------------------------------------------------------------------------
    def handle(self, handler, body: bytes):
        emulator = self.emulator
        if emulator.api_delay:
            time.sleep(emulator.api_delay)
        raw_token = handler.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return 400, {}, {"errors": [{"message": "Invalid JSON"}]}
        query, variables = payload.get("query", ""), payload.get("variables") or {}
        match = OPERATION.match(query)
        operation = match.group(3) if match else ""
        with emulator.lock:
            owner = emulator.user_of_token(raw_token)
            self.api_requests.append(
                {
                    "operation": operation,
                    "user": owner[0] if owner else None,
                    "variables": variables,
                    "api_version": handler.headers.get("API-Version"),
                }
            )
            if self._failures:
                return (
                    self._failures.pop(0),
                    {"Content-Type": "text/html"},
                    b"<html>bad gateway</html>",
                )
            if owner is None:
                return (
                    401,
                    {},
                    {
                        "errors": [
                            {
                                "message": "Not Authenticated",
                                "extensions": {"code": "UNAUTHENTICATED", "status_code": 401},
                            }
                        ]
                    },
                )
            if self._rate_limits:
                kind, retry = self._rate_limits.pop(0)
                if kind == "http429":
                    body = {
                        "errors": [
                            {
                                "message": "Rate limit exceeded",
                                "extensions": {
                                    "code": "RATE_LIMIT_EXCEEDED",
                                    "retry_in_seconds": retry,
                                },
                            }
                        ]
                    }
                    return 429, {"Retry-After": str(retry)}, body
                return (
                    200,
                    {},
                    {
                        "errors": [
                            {
                                "message": "Complexity budget exhausted",
                                "extensions": {
                                    "code": "COMPLEXITY_BUDGET_EXHAUSTED",
                                    "retry_in_seconds": retry,
                                    "status_code": 429,
                                },
                            }
                        ]
                    },
                )
            user_id, scopes = owner
            try:
                needed = SCOPES.get(operation)
                if operation == "items" and "updates" in query:
                    needed = "updates:read"
                if needed is None:
                    raise ApiError("InvalidQueryException", f"Unsupported operation {operation!r}")
                if needed not in scopes:
                    raise ApiError(
                        "missingRequiredPermissions",
                        f"Permission denied! Your token does not grant access to {needed}",
                        403,
                    )
                data = getattr(self, f"op_{operation}")(user_id, variables, query)
            except ApiError as exc:
                error = {
                    "message": exc.message,
                    "path": [operation],
                    "extensions": {
                        "code": exc.code,
                        "status_code": exc.status_code,
                        "error_data": exc.extra,
                    },
                }
                return 200, {}, {"data": None, "errors": [error], "account_id": 1}
            return 200, {}, {"data": {operation: data}, "account_id": 1}

    # --- helpers ---------------------------------------------------------------------------
    def _board(self, board_id: Any, user_id: int) -> dict[str, Any]:
        board = self.boards.get(str(board_id))
        if board is None:
            raise ApiError("InvalidBoardIdException", f"Board {board_id} does not exist", 404)
        if user_id not in board["members"]:
            raise ApiError("UserUnauthorizedException", "User unauthorized to perform action", 403)
        return board

    def _item(self, item_id: Any, user_id: int) -> dict[str, Any]:
        item = self.items.get(str(item_id))
        if item is None or item["state"] == "deleted":
            raise ApiError("InvalidItemIdException", f"Item {item_id} does not exist", 404)
        self._board(item["board_id"], user_id)
        return item

    def _column_json(self, board: dict[str, Any], item: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {
                "id": column["id"],
                "type": column["type"],
                "text": item["values"].get(column["id"], {}).get("text", ""),
                "value": json.dumps(item["values"][column["id"]]["value"])
                if column["id"] in item["values"]
                else None,
            }
            for column in board["columns"]
        ]

    def item_json(self, item: dict[str, Any]) -> dict[str, Any]:
        board = self.boards[item["board_id"]]
        group_title = dict(board["groups"]).get(item["group_id"])
        return {
            "id": item["id"],
            "name": item["name"],
            "url": f"https://emulated.monday.com/boards/{board['id']}/pulses/{item['id']}",
            "state": item["state"],
            "board": {"id": board["id"], "name": board["name"]},
            "group": {"id": item["group_id"], "title": group_title},
            "column_values": self._column_json(board, item),
            "created_at": item["created_at"],
        }

    def _set_values(
        self, board: dict[str, Any], item: dict[str, Any], values: dict[str, Any]
    ) -> None:
        columns = {column["id"]: column for column in board["columns"]}
        staged = {}
        for column_id, value in values.items():
            column = columns.get(column_id)
            if column is None:
                raise ApiError(
                    "InvalidColumnIdException",
                    f"This column ID doesn't exist for the board ({column_id})",
                )
            staged[column_id] = self._convert(column, value)
        item["values"].update(staged)

    def _convert(self, column: dict[str, Any], value: Any) -> dict[str, Any]:
        kind = column["type"]
        if kind == "status":
            labels = column["labels"]
            if isinstance(value, dict) and "label" in value and value["label"] in labels.values():
                return {"text": value["label"], "value": value}
            if isinstance(value, dict) and str(value.get("index")) in labels:
                return {"text": labels[str(value["index"])], "value": value}
            raise ApiError(
                "ColumnValueException",
                "invalid value - label does not exist in column. Please check our API documentation",
                200,
                column_type="status",
            )
        if kind == "date":
            try:
                date.fromisoformat(value["date"])
            except (TypeError, KeyError, ValueError):
                raise ApiError(
                    "ColumnValueException", "invalid value for date column", 200, column_type="date"
                ) from None
            return {"text": value["date"], "value": value}
        return {"text": str(value), "value": value}

    # --- operations ------------------------------------------------------------------------
    def op_me(self, user_id: int, v: dict, query: str) -> dict:
        user = self.emulator.users[user_id]
        return {
            "id": str(user_id),
            "name": user["name"],
            "email": user["email"],
            "title": None,
            "account": {"id": "1", "name": "Emulated Co"},
        }

    def op_boards(self, user_id: int, v: dict, query: str) -> list:
        if v.get("ids"):
            boards = [self._board(board_id, user_id) for board_id in v["ids"]]
        else:
            boards = [b for b in self.boards.values() if user_id in b["members"]]
            if v.get("workspace_ids"):
                boards = [
                    b
                    for b in boards
                    if str(b["workspace_id"]) in {str(w) for w in v["workspace_ids"]}
                ]
            boards = boards[: v.get("limit") or 25]
        result = []
        for board in boards:
            entry = {
                "id": board["id"],
                "name": board["name"],
                "url": f"https://emulated.monday.com/boards/{board['id']}",
                "state": "active",
                "workspace_id": board["workspace_id"],
                "items_count": sum(1 for i in self.active_items() if i["board_id"] == board["id"]),
                "groups": [{"id": gid, "title": title} for gid, title in board["groups"]],
                "columns": [
                    {
                        "id": c["id"],
                        "title": c["title"],
                        "type": c["type"],
                        "settings_str": json.dumps({"labels": c.get("labels", {})}),
                    }
                    for c in board["columns"]
                ],
            }
            if "items_page" in query:
                entry["items_page"] = self._page(
                    board["id"],
                    (v.get("query_params") or {}).get("rules", []),
                    0,
                    v.get("limit") or 25,
                )
            result.append(entry)
        return result

    def _matches(self, item: dict[str, Any], rules: list[dict[str, Any]]) -> bool:
        for rule in rules:
            wanted = [str(x) for x in rule.get("compare_value") or []]
            column = rule.get("column_id")
            if column == "group" and item["group_id"] not in wanted:
                return False
            if column == "name" and not any(w.lower() in item["name"].lower() for w in wanted):
                return False
            if (
                column not in {"group", "name"}
                and item["values"].get(column, {}).get("text") not in wanted
            ):
                return False
        return True

    def _page(self, board_id: str, rules: list, offset: int, limit: int) -> dict:
        matching = [
            i for i in self.active_items() if i["board_id"] == board_id and self._matches(i, rules)
        ]
        page = matching[offset : offset + limit]
        cursor = None
        if offset + limit < len(matching):
            cursor = "cur_" + secrets.token_urlsafe(12)
            self.cursors[cursor] = {"board_id": board_id, "rules": rules, "offset": offset + limit}
        return {"cursor": cursor, "items": [self.item_json(i) for i in page]}

    def op_next_items_page(self, user_id: int, v: dict, query: str) -> dict:
        state = self.cursors.get(v.get("cursor", ""))
        if state is None:
            raise ApiError("InvalidArgumentException", "Invalid cursor", 400)
        self._board(state["board_id"], user_id)
        return self._page(state["board_id"], state["rules"], state["offset"], v.get("limit") or 25)

    def op_items(self, user_id: int, v: dict, query: str) -> list:
        result = []
        for item_id in v.get("ids") or []:
            item = self._item(item_id, user_id)
            entry = self.item_json(item)
            entry["updates"] = list(reversed(item["updates"]))[: v.get("limit") or 25]
            result.append(entry)
        return result

    def op_create_item(self, user_id: int, v: dict, query: str) -> dict:
        board = self._board(v.get("board_id"), user_id)
        group_id = v.get("group_id") or board["groups"][0][0]
        if group_id not in dict(board["groups"]):
            raise ApiError(
                "InvalidGroupIdException", f"Group {group_id} does not exist on the board"
            )
        values = json.loads(v["column_values"]) if v.get("column_values") else {}
        probe = {"values": {}}
        self._set_values(board, probe, values)  # validate before creating anything
        item_id = self.add_item(board["id"], v["item_name"], group_id=group_id)
        self.items[item_id]["values"] = probe["values"]
        self.items[item_id]["creator_id"] = user_id  # whose token created it
        return self.item_json(self.items[item_id])

    def op_change_multiple_column_values(self, user_id: int, v: dict, query: str) -> dict:
        item = self._item(v.get("item_id"), user_id)
        board = self._board(v.get("board_id"), user_id)
        self._set_values(board, item, json.loads(v.get("column_values") or "{}"))
        return self.item_json(item)

    def op_move_item_to_group(self, user_id: int, v: dict, query: str) -> dict:
        item = self._item(v.get("item_id"), user_id)
        if v.get("group_id") not in dict(self.boards[item["board_id"]]["groups"]):
            raise ApiError(
                "InvalidGroupIdException", f"Group {v.get('group_id')} does not exist on the board"
            )
        item["group_id"] = v["group_id"]
        return self.item_json(item)

    def op_archive_item(self, user_id: int, v: dict, query: str) -> dict:
        item = self._item(v.get("item_id"), user_id)
        item["state"] = "archived"
        return {"id": item["id"], "name": item["name"], "state": "archived"}

    def op_delete_item(self, user_id: int, v: dict, query: str) -> dict:
        item = self._item(v.get("item_id"), user_id)
        item["state"] = "deleted"
        return {"id": item["id"], "name": item["name"], "state": "deleted"}

    def op_create_update(self, user_id: int, v: dict, query: str) -> dict:
        item = self._item(v.get("item_id"), user_id)
        update = {
            "id": str(next(self._ids)),
            "body": v.get("body", ""),
            "text_body": re.sub(r"<[^>]+>", "", v.get("body", "")),
            "created_at": "2026-11-24T12:00:00Z",
            "creator": {"id": str(user_id), "name": self.emulator.users[user_id]["name"]},
        }
        item["updates"].append(update)
        return update
