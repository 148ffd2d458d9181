"""The API's JSON parser: bounded size and depth, no text the database cannot store."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from core.text import first_unstorable_path

MAX_DEPTH = 64


class TooLarge(ParseError):
    status_code = 413
    default_code = "too_large"


def bounded_json(raw: bytes) -> Any:
    """JSON from a body, at most MAX_DEPTH levels deep and holding only storable text;
    ValueError otherwise, with a message fit for the caller (never a RecursionError)."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels.") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"JSON parse error: {exc}") from None
    try:
        path = first_unstorable_path(data, max_depth=MAX_DEPTH)
    except ValueError:
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels.") from None
    if path is not None:
        raise ValueError(f"{path}: NUL characters and lone surrogates are not accepted.")
    return data


class SafeJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2_621_440
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise TooLarge(f"The request body is larger than {limit} bytes.")
        try:
            return bounded_json(raw)
        except ValueError as exc:
            raise ParseError(str(exc)) from None
