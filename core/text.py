"""Text the databases cannot store: NUL (PostgreSQL text and jsonb) and lone UTF-16
surrogates (not encodable as UTF-8 at all)."""

from __future__ import annotations

import json
import re
from typing import Any

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# The same, as json.dumps writes it: NUL, a high surrogate no low one follows, a low one
# no high one precedes (a pair written as two escapes is a character PostgreSQL stores).
ESCAPED_UNSTORABLE = re.compile(
    r"\\u0000|\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])|(?<!\\ud[89ab][0-9a-f]{2})\\ud[c-f]",
    re.IGNORECASE,
)


def has_unstorable(text: str) -> bool:
    return UNSTORABLE.search(text) is not None


def storable(text: str) -> str:
    """`text` with what cannot be stored written as visible escapes (\\u0000, \\ud800)."""
    return UNSTORABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def first_unstorable_path(value: Any, *, max_depth: int = 64) -> str | None:
    """The JSON path of the first key or string holding unstorable text, else None.

    Raises ValueError past `max_depth` levels of nesting (walked without recursion).
    """
    stack: list[tuple[Any, str, int]] = [(value, "$", 0)]
    while stack:
        item, path, depth = stack.pop()
        if depth > max_depth:
            raise ValueError(f"nested deeper than {max_depth} levels")
        if isinstance(item, str):
            if has_unstorable(item):
                return path
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and has_unstorable(key):
                    return path
                stack.append((child, f"{path}.{key}", depth + 1))
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(item))
    return None


def json_is_storable(value: Any) -> bool:
    """Whether a JSON value holds no unstorable key or string — found with one dump and
    one scan, much cheaper than `storable_json`'s walk in Python over a long value (a
    run's whole conversation, saved with each of its steps). False when unsure."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        return False
    return ESCAPED_UNSTORABLE.search(text) is None


def storable_json(value: Any) -> Any:
    """A copy of a JSON value with every key and string made storable."""
    if isinstance(value, str):
        return storable(value) if has_unstorable(value) else value
    if isinstance(value, dict):
        return {storable_json(k): storable_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [storable_json(v) for v in value]
    return value
