"""Tools' JSON Schemas: the rules every tool's input follows, and small builders so every
provider writes inputs the same way (an object with additionalProperties false, each
property described for a model).

The portable subset (DESIGN §13 rule 27). A tool list goes to OpenAI, Anthropic, Gemini
and every MCP client in one request: one schema a model API refuses fails the whole
request for everyone who has that provider connected. So every tool's schema keeps to
what all of them accept — checked when the catalog loads (`check_portable`), and over the
whole catalog by tests/connections/test_tool_schema_contract.py:

* the root is `type: object` with `additionalProperties: false`, and so is every object;
  no `anyOf`/`oneOf`/`allOf`/`$ref`/`not` anywhere;
* every `type` is one JSON type — never a list, never `null`; where a provider takes "a
  string or a number", the tool takes a string and converts it;
* `required` names each declared property at most once; every array has `items`; `enum`
  lists strings;
* only the keywords in PORTABLE_KEYWORDS reach a model (`portable`); the validation-only
  ones (lengths, property counts) stay on the server, which validates every call with the
  full schema;
* a tool's name has at most NAME_LIMIT characters, so that even qualified with a
  20-character connection name (`<connection>__<tool>`) it fits the 64 that model APIs
  allow.
"""

from __future__ import annotations

import copy
import re
from typing import Any

PORTABLE_KEYWORDS = frozenset(
    {
        "type",
        "description",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "minimum",
        "maximum",
        "minItems",
        "maxItems",
        "pattern",
    }
)
# Enforced by the portal's own validation, not offered to models (OpenAI's strict mode
# refuses them; Gemini ignores some): they are taken out of the schema models see.
VALIDATION_ONLY_KEYWORDS = frozenset(
    {"$schema", "minLength", "maxLength", "minProperties", "maxProperties"}
)
JSON_TYPES = frozenset({"object", "string", "integer", "number", "boolean", "array"})
CONNECTION_NAME_LIMIT = 20
NAME_LIMIT = 64 - CONNECTION_NAME_LIMIT - len("__")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def portable(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema models and MCP clients see: the declared one without the keywords only
    the portal's own validation uses."""

    def strip(node: Any, in_properties: bool = False) -> Any:
        if isinstance(node, dict):
            if in_properties:  # property names, not keywords
                return {name: strip(value) for name, value in node.items()}
            return {
                key: strip(value, key == "properties")
                for key, value in node.items()
                if key not in VALIDATION_ONLY_KEYWORDS
            }
        if isinstance(node, list):
            return [strip(item) for item in node]
        return copy.deepcopy(node)

    return strip(schema)


def portability_errors(schema: Any, path: str = "$") -> list[str]:
    """Every way the schema leaves the portable subset, with its path; [] when it keeps to
    it. The root must be an object."""
    errors: list[str] = []
    if path == "$" and (not isinstance(schema, dict) or schema.get("type") != "object"):
        return ["$: the root must be `type: object`"]
    if not isinstance(schema, dict):
        return [f"{path}: a schema must be an object"]
    unknown = set(schema) - PORTABLE_KEYWORDS - VALIDATION_ONLY_KEYWORDS
    if unknown:
        errors.append(f"{path}: keywords outside the portable subset: {sorted(unknown)}")
    kind = schema.get("type")
    if not isinstance(kind, str) or kind not in JSON_TYPES:
        errors.append(f"{path}: `type` must be one of {sorted(JSON_TYPES)}, not {kind!r}")
    if kind == "object":
        properties = schema.get("properties")
        if not isinstance(properties, dict):
            errors.append(f"{path}: an object declares its `properties`")
            properties = {}
        if schema.get("additionalProperties") is not False:
            errors.append(f"{path}: an object must say `additionalProperties: false`")
        required = schema.get("required", [])
        if not isinstance(required, list) or len(set(required)) != len(required):
            errors.append(f"{path}: `required` must list each property once")
        elif set(required) - set(properties):
            errors.append(
                f"{path}: `required` names undeclared {sorted(set(required) - set(properties))}"
            )
        for name, sub in properties.items():
            errors += portability_errors(sub, f"{path}.{name}")
    elif "properties" in schema or "additionalProperties" in schema or "required" in schema:
        errors.append(f"{path}: only objects have properties")
    if kind == "array":
        if not isinstance(schema.get("items"), dict):
            errors.append(f"{path}: an array declares its `items`")
        else:
            errors += portability_errors(schema["items"], f"{path}[]")
    elif "items" in schema:
        errors.append(f"{path}: only arrays have items")
    enum = schema.get("enum")
    if enum is not None and (kind != "string" or not all(isinstance(v, str) for v in enum)):
        errors.append(f"{path}: `enum` lists strings, on a string")
    return errors


def check_portable(name: str, schema: dict[str, Any]) -> None:
    """Raise ValueError naming the tool and every rule its schema breaks."""
    problems = portability_errors(schema)
    if len(name) > NAME_LIMIT or not NAME.match(name):
        problems.append(
            f"the name must be lowercase letters, digits and '_', at most {NAME_LIMIT} long"
        )
    if problems:
        raise ValueError(f"Tool {name}: " + "; ".join(problems))


DRAFT = "https://json-schema.org/draft/2020-12/schema"


def obj(properties: dict[str, Any], required: list[str] | None = None, **extra: Any) -> dict:
    return {
        "$schema": DRAFT,
        "type": "object",
        "properties": properties,
        "required": required or [],
        "additionalProperties": False,
        **extra,
    }


def text(description: str, *, max_length: int = 1000, min_length: int = 0, **extra: Any) -> dict:
    schema: dict[str, Any] = {"type": "string", "maxLength": max_length, "description": description}
    if min_length:
        schema["minLength"] = min_length
    return {**schema, **extra}


def required_text(description: str, *, max_length: int = 1000, **extra: Any) -> dict:
    return text(description, max_length=max_length, min_length=1, **extra)


def integer(description: str, *, minimum: int = 1, maximum: int = 10**12, **extra: Any) -> dict:
    return {
        "type": "integer",
        "minimum": minimum,
        "maximum": maximum,
        "description": description,
        **extra,
    }


def limit(default: int = 20, maximum: int = 100) -> dict:
    return integer(f"How many to return (1-{maximum}, default {default}).", maximum=maximum)


def boolean(description: str) -> dict:
    return {"type": "boolean", "description": description}


def enum(description: str, values: list[str]) -> dict:
    return {"type": "string", "enum": values, "description": description}


def string_list(description: str, *, max_items: int = 20, max_length: int = 200) -> dict:
    return {
        "type": "array",
        "items": {"type": "string", "minLength": 1, "maxLength": max_length},
        "maxItems": max_items,
        "description": description,
    }


def json_object_text(description: str, *, max_length: int = 20_000) -> dict:
    """A map the provider takes with keys of its own (monday column values, Salesforce
    fields): portable schemas cannot say "any keys", so it travels as JSON text and the
    tool reads it with `connections.tooling.json_object`."""
    return text(
        description + " Give it as a JSON object in a string.",
        max_length=max_length,
        min_length=2,
    )


def date_time(description: str) -> dict:
    return text(
        description, max_length=40, pattern=r"^\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:\d{2})?)?$"
    )


def compact(data: dict[str, Any]) -> dict[str, Any]:
    """A result without empty fields: models read less, and nothing is lost."""
    return {key: value for key, value in data.items() if value not in (None, "", [], {})}
