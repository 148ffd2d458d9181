"""Small builders for tools' JSON Schemas, so every provider writes inputs the same way:
an object with additionalProperties false, each property described for a model."""

from __future__ import annotations

from typing import Any

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


def date_time(description: str) -> dict:
    return text(
        description, max_length=40, pattern=r"^\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:\d{2})?)?$"
    )


def compact(data: dict[str, Any]) -> dict[str, Any]:
    """A result without empty fields: models read less, and nothing is lost."""
    return {key: value for key, value in data.items() if value not in (None, "", [], {})}
