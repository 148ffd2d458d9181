"""Database connections only around database work, and cursors for the hot statements.

A worker thread that is about to wait on a model or a provider gives its connection
back (to the pool when DB_POOL_MAX_SIZE is set, else it closes it), so N threads waiting
on slow answers do not hold N PostgreSQL connections. Inside a transaction nothing is
released. Web requests keep Django's usual per-request handling.
"""

from __future__ import annotations

import threading
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections

_state = threading.local()
RELEASE = {"enabled": False}  # set by the worker process at start (core.worker)


def release_connection() -> None:
    """Give this thread's connection back before a long wait, when not in a transaction."""
    if RELEASE["enabled"] and connection.connection is not None and not connection.in_atomic_block:
        connection.close()


def bound_cursor(using: str = DEFAULT_DB_ALIAS) -> Any:
    """A cursor (in Django's wrapper: execute wrappers, error translation) whose
    parameters PostgreSQL binds, for the constant statements of every tool call (the
    account lookup, the audit insert): psycopg prepares such a statement once it has run
    `prepare_threshold` times on a connection (settings: off behind PgBouncer), so each
    call skips parsing and planning — about 0.3 ms of a 0.6 ms lookup here
    (bench.execute_overhead). Everything else keeps Django's client-side binding (the
    ORM's SQL is not always preparable, Django #20516). With tracing on (a traced cursor)
    or queries logged (Django's debug log shows client-bound SQL), Django's own cursor.
    """
    database = connections[using]
    if database.vendor != "postgresql":
        return database.cursor()
    from django.db.backends.postgresql.base import (  # type: ignore[attr-defined]
        Cursor,
        ServerBindingCursor,
    )

    database.close_if_health_check_failed()
    database.ensure_connection()
    driver = database.connection
    if driver.cursor_factory is not Cursor or database.queries_logged:
        return database.cursor()
    database.validate_thread_sharing()
    with database.wrap_database_errors:
        return database.make_cursor(ServerBindingCursor(driver))
