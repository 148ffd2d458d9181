"""Database connections only around database work.

A worker thread that is about to wait on a model or a provider gives its connection
back (to the pool when DB_POOL_MAX_SIZE is set, else it closes it), so N threads waiting
on slow answers do not hold N PostgreSQL connections. Inside a transaction nothing is
released. Web requests keep Django's usual per-request handling.
"""

from __future__ import annotations

import threading

from django.db import connection

_state = threading.local()
RELEASE = {"enabled": False}  # set by the worker process at start (core.worker)


def release_connection() -> None:
    """Give this thread's connection back before a long wait, when not in a transaction."""
    if RELEASE["enabled"] and connection.connection is not None and not connection.in_atomic_block:
        connection.close()
