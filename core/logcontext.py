"""What the one log line of a request or a task says besides its outcome (issue 28): the
executions and runs it touched, noted as they happen (contextvars: each request or task
sees only its own)."""

from __future__ import annotations

import contextvars
import logging
from typing import Any

_noted: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "log_noted", default=None
)
MAX_IDS = 20


def begin() -> contextvars.Token:
    return _noted.set({})


def end(token: contextvars.Token) -> dict[str, Any]:
    noted = _noted.get() or {}
    _noted.reset(token)
    return noted


def note(**ids: str) -> None:
    """Add ids (execution_id="…", run_id="…") to the current request's or task's line."""
    noted = _noted.get()
    if noted is None:
        return
    for key, value in ids.items():
        if value:
            values = noted.setdefault(f"{key}s", [])
            if value not in values and len(values) < MAX_IDS:
                values.append(str(value))


REQUESTS = logging.getLogger("portal.requests")
TASKS = logging.getLogger("portal.tasks")
