"""Bounded results (issue 25): a tool result larger than the caller's limit is stored,
and the model or MCP client gets its first part, its size and a handle; `read_result`
reads further pages. Sizes and offsets count characters of the result's JSON text.

The handle is the stored result's id, read back only within the organization and for
the identifier the call ran as: one person's result is never another's page.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.utils import timezone

from connections.models import StoredResult
from core.tenancy import as_uuid

DEFAULT_LIMIT = 16 * 1024
MIN_LIMIT, MAX_LIMIT = 1024, 1024 * 1024
# What the envelope around a first part takes, kept inside the limit.
ENVELOPE = 400
KEPT_FOR = timedelta(days=30)
READ_RESULT = "read_result"

READ_RESULT_DESCRIPTION = (
    "Read more of a tool result that was too large to give you whole: pass its `handle` and "
    "the `offset` to read from (the `next_offset` you were given)."
)
READ_RESULT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "handle": {"type": "string", "description": "The result's handle."},
        "offset": {"type": "integer", "description": "Where to read from, in characters."},
    },
    "required": ["handle", "offset"],
    "additionalProperties": False,
}
READ_RESULT_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": READ_RESULT,
        "description": READ_RESULT_DESCRIPTION,
        "parameters": READ_RESULT_SCHEMA,
    },
}


def fits(text: str, limit: int) -> bool:
    """Whether a result goes to the model whole (else it is stored, and paged)."""
    return len(text) <= limit


def bounded(
    *, text: str, limit: int, organization: Any, identifier: str, execution_id: str = ""
) -> tuple[str, StoredResult | None]:
    """`text` itself when it fits in `limit` characters; else the stored result's first
    page, as JSON the model reads (and the stored result)."""
    if fits(text, limit):
        return text, None
    stored = StoredResult.objects.create(
        organization=organization,
        identifier=identifier,
        execution_id=execution_id[:32],
        content=text,
        size=len(text),
    )
    return json.dumps(page(stored, offset=0, limit=limit)), stored


def page(stored: StoredResult, *, offset: int, limit: int) -> dict[str, Any]:
    """The part of the result from `offset` whose answer, as JSON, fits in `limit`
    characters (a part full of quotes grows when escaped: it is cut until it fits)."""
    length = max(limit - ENVELOPE, 1)
    while True:
        answer = _part(stored, offset, length)
        over = len(json.dumps(answer)) - limit
        if over <= 0 or length == 1:
            return answer
        length = max(1, length - over)


def _part(stored: StoredResult, offset: int, length: int) -> dict[str, Any]:
    end = min(offset + length, stored.size)
    more = end < stored.size
    return {
        "result_truncated": True,
        "handle": str(stored.pk),
        "total_chars": stored.size,
        "offset": offset,
        "next_offset": end if more else None,
        "part": stored.content[offset:end],
        "how_to_read_more": (
            f"Call {READ_RESULT} with this handle and offset=next_offset."
            if more
            else "This is the end of the result."
        ),
    }


def read(
    *, organization: Any, identifier: str, handle: Any, offset: Any, length: int = DEFAULT_LIMIT
) -> dict[str, Any] | None:
    """A page of a stored result of this identifier, or None (no such result for them)."""
    handle_id = as_uuid(handle)
    if handle_id is None:
        return None
    stored = (
        StoredResult.objects.for_org(organization)
        .filter(pk=handle_id, identifier=identifier)
        .first()
    )
    if stored is None:
        return None
    try:
        start = max(0, min(int(offset), stored.size))
    except (TypeError, ValueError):
        start = 0
    return page(stored, offset=start, limit=length)


def forget_old(now: Any = None) -> int:
    """Delete stored results older than KEPT_FOR (the daily upkeep calls it)."""
    cutoff = (now or timezone.now()) - KEPT_FOR
    deleted, _ = StoredResult.objects.filter(created_at__lt=cutoff).delete()
    return deleted
