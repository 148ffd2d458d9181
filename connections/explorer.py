"""Turn a tool's JSON Schema into form fields and form input back into tool params."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from connections.tooling import Tool, ToolInvalid


@dataclass(frozen=True)
class SchemaField:
    name: str
    label: str
    kind: str  # "text", "long_text", "number", "json"
    required: bool
    description: str
    value: str = ""


def _kind(schema: dict[str, Any]) -> str:
    types = schema.get("type")
    types = set(types) if isinstance(types, list) else {types}
    if types & {"object", "array"}:
        return "json"
    if types == {"integer"} or types == {"number"}:
        return "number"
    if schema.get("maxLength", 0) > 1000:  # bodies, JSON given as text
        return "long_text"
    return "text"


def form_fields(tool: Tool, data: dict[str, str] | None = None) -> list[SchemaField]:
    schema = tool.input_schema
    required = set(schema.get("required", []))
    return [
        SchemaField(
            name=name,
            label=name.replace("_", " ").capitalize(),
            kind=_kind(prop),
            required=name in required,
            description=prop.get("description", ""),
            value=(data or {}).get(name, ""),
        )
        for name, prop in schema.get("properties", {}).items()
    ]


def params_from_form(tool: Tool, data: dict[str, str]) -> dict[str, Any]:
    """Empty fields are left out; numbers and JSON are parsed (schema validation follows)."""
    params: dict[str, Any] = {}
    for field in form_fields(tool):
        raw = (data.get(field.name) or "").strip()
        if not raw:
            continue
        if field.kind == "json":
            try:
                params[field.name] = json.loads(raw)
            except ValueError:
                raise ToolInvalid(f"{field.label}: not valid JSON.") from None
        elif field.kind == "number":
            try:
                params[field.name] = int(raw)
            except ValueError:
                raise ToolInvalid(f"{field.label}: enter a whole number.") from None
        else:
            params[field.name] = raw
    return params
