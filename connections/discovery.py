"""The discovery surface (issue 25): three meta-tools instead of every tool definition —
search the caller's tools by what they want to do, describe one, call one by name.

The meta-layer adds no way around anything: `call_tool` is unwrapped into the real tool
call before anything else looks at it (`unwrap`), so the allow-list, validation, scopes,
approvals, audit and the run's record all see the real tool and its real arguments.
"""

from __future__ import annotations

import json
from typing import Any

from connections.search import catalog_index
from connections.tools import AvailableTool

SEARCH, DESCRIBE, CALL = "search_tools", "describe_tool", "call_tool"
META_TOOLS = frozenset({SEARCH, DESCRIBE, CALL})
# Callers with more tools than this get the discovery surface unless told otherwise.
AUTO_THRESHOLD = 30

DISCOVERY_TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": SEARCH,
            "description": (
                "Find the tools you can use for a task. Describe what you want to do in a "
                "few words (e.g. 'create a task in asana'); returns the best matches: name, "
                "what it does, whether it changes data, and its input schema."
            ),
            "parameters": {
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "What you want to do."},
                    "limit": {"type": "integer", "description": "How many matches, 1 to 10."},
                },
                "required": ["query", "limit"],
                "additionalProperties": False,
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": DESCRIBE,
            "description": "The full description and input schema of one tool, by name.",
            "parameters": {
                "type": "object",
                "properties": {"name": {"type": "string", "description": "The tool's name."}},
                "required": ["name"],
                "additionalProperties": False,
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": CALL,
            "description": (
                "Call one of your tools by name. `arguments` is a JSON object, as a string, "
                "matching the tool's input schema (search_tools or describe_tool give it)."
            ),
            "parameters": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "description": "The tool's name."},
                    "arguments": {
                        "type": "string",
                        "description": 'The arguments as a JSON object, e.g. {"board_id": "1"}.',
                    },
                },
                "required": ["name", "arguments"],
                "additionalProperties": False,
            },
        },
    },
]


def uses_discovery(mode: str, tool_count: int) -> bool:
    """`mode`: "all", "discovery" or "auto" (discovery above AUTO_THRESHOLD tools)."""
    return mode == "discovery" or (mode == "auto" and tool_count > AUTO_THRESHOLD)


def _summary(entry: AvailableTool, *, schema: bool = True) -> dict[str, Any]:
    found = {
        "name": entry.name,
        "provider": entry.tool.provider,
        "description": entry.tool.description,
        "write": entry.tool.write,
    }
    if schema:
        found["input_schema"] = entry.tool.model_schema
    return found


def search(available: dict[str, AvailableTool], query: Any, limit: Any = 5) -> dict[str, Any]:
    """The caller's best-matching tools (only tools they may call)."""
    try:
        count = max(1, min(50, int(limit)))
    except (TypeError, ValueError):
        count = 5
    by_tool: dict[str, AvailableTool] = {}
    for entry in available.values():
        by_tool.setdefault(entry.tool.name, entry)
    matches = catalog_index().search(str(query or ""), limit=count, among=set(by_tool))
    return {"results": [_summary(by_tool[m.tool.name]) | {"score": m.score} for m in matches]}


def search_catalog(query: Any, limit: int = 10) -> list[dict[str, Any]]:
    """The whole catalog, connected or not (admins building toolsets and agents)."""
    return [
        {
            "name": m.tool.name,
            "provider": m.tool.provider,
            "description": m.tool.description,
            "write": m.tool.write,
            "score": m.score,
        }
        for m in catalog_index().search(str(query or ""), limit=limit)
    ]


def describe(available: dict[str, AvailableTool], name: Any) -> dict[str, Any] | None:
    entry = available.get(str(name or ""))
    return _summary(entry) if entry is not None else None


def unwrap(raw: dict[str, Any]) -> dict[str, Any]:
    """A `call_tool` call as the call of the tool it names (same id, its arguments); any
    other call unchanged. Arguments that are not a JSON object stay unparseable, so the
    call is refused as such."""
    function = raw.get("function") or {}
    if function.get("name") != CALL:
        return raw
    try:
        outer = json.loads(function.get("arguments") or "{}")
    except ValueError:
        return raw
    if not isinstance(outer, dict) or not isinstance(outer.get("name"), str):
        return raw
    inner = outer.get("arguments")
    if isinstance(inner, dict):
        inner = json.dumps(inner)
    return {
        **raw,
        # Anything but an object (or its JSON) parses to no object: refused as such.
        "function": {
            "name": outer["name"],
            "arguments": inner if isinstance(inner, str) else "null",
        },
        "via": CALL,
    }
