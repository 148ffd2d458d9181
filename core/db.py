"""Database connections only around database work, and cursors for the hot statements.

A worker thread that is about to wait on a model or a provider gives its connection
back (to the pool when DB_POOL_MAX_SIZE is set, else it closes it), so N threads waiting
on slow answers do not hold N PostgreSQL connections. Inside a transaction nothing is
released. Web requests keep Django's usual per-request handling.

A hot statement may also be sent ahead (`send_ahead`): PostgreSQL runs and commits it
while the thread goes on, and its answer is read (`settle`) before anything else uses the
connection and before any request leaves the process (core/outbound.py) — an agent's tool
step is on disk before the model sees its result, while the model request was being
built.
"""

from __future__ import annotations

import functools
import hashlib
import re
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, connections

_state = threading.local()
RELEASE = {"enabled": False}  # set by the worker process at start (core.worker)


def release_connection() -> None:
    """Give this thread's connection back before a long wait, when not in a transaction
    (a statement sent ahead is answered first)."""
    settle()
    if RELEASE["enabled"] and connection.connection is not None and not connection.in_atomic_block:
        connection.close()


def bound_cursor(using: str = DEFAULT_DB_ALIAS) -> Any:
    """A cursor (in Django's wrapper: execute wrappers, error translation) whose
    parameters PostgreSQL binds, for the constant statements of every tool call (the
    account lookup, the audit insert, the agent step): psycopg prepares such a statement
    once it has run `prepare_threshold` times on a connection (settings: off behind
    PgBouncer), so each call skips parsing and planning — about 0.3 ms of a 0.6 ms lookup
    here (bench.execute_overhead). The statement's `%s` placeholders become PostgreSQL's
    own `$n` once per statement (`native_placeholders`), so psycopg does not parse it
    again on every call (it caches its parse only for statements under 4 KB and 50
    parameters; an agent's tool step with its audit event has more). Everything else
    keeps Django's client-side binding (the ORM's SQL is not always preparable, Django
    #20516). With tracing on (a traced cursor) or queries logged (Django's debug log
    shows client-bound SQL), Django's own cursor.
    """
    settle()
    database = connections[using]
    if not _natively_bound(database):
        return database.cursor()
    with database.wrap_database_errors:
        return database.make_cursor(_native_binding_cursor()(database.connection))


def _natively_bound(database: Any) -> bool:
    """Whether the hot statements go to PostgreSQL as they are (connected now): not with
    tracing on (a traced cursor) nor with queries logged (Django's debug log)."""
    if database.vendor != "postgresql":
        return False
    from django.db.backends.postgresql.base import Cursor  # type: ignore[attr-defined]

    database.close_if_health_check_failed()
    database.ensure_connection()
    database.validate_thread_sharing()
    return database.connection.cursor_factory is Cursor and not database.queries_logged


# `%s` (a parameter) and `%%` (a literal percent sign): the only placeholders the hot
# statements hold; any other is refused.
_PLACEHOLDER = re.compile(r"%(.)", re.DOTALL)


@functools.lru_cache(maxsize=512)
def native_placeholders(sql: str) -> str:
    """The statement with `%s` numbered as PostgreSQL's `$1`, `$2`, … and `%%` as `%`."""
    numbers = iter(range(1, sql.count("%s") + 1))

    def replace(match: re.Match[str]) -> str:
        if match.group(1) == "s":
            return f"${next(numbers)}"
        if match.group(1) == "%":
            return "%"
        raise ValueError(f"Unsupported placeholder %{match.group(1)} in a bound statement")

    return _PLACEHOLDER.sub(replace, sql)


@functools.cache
def _native_binding_cursor() -> type:
    """psycopg's RawCursor (native placeholders, no parse per call) taking the `%s`
    statements the rest of the code writes."""
    import psycopg

    class NativeBindingCursor(psycopg.RawCursor):
        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            return super().execute(native_placeholders(query), params, **kwargs)

    return NativeBindingCursor


# --- Statements sent ahead ----------------------------------------------------------


@dataclass
class _Ahead:
    database: Any
    driver: Any  # the psycopg connection it was sent on
    transformer: Any
    answered: Callable[[tuple | None], None]
    failed: Callable[[], None]


def send_ahead(
    sql: str,
    params: Sequence[Any],
    *,
    answered: Callable[[tuple | None], None],
    failed: Callable[[], None],
) -> bool:
    """Send one autocommitted statement without waiting for its answer; False (nothing
    sent) where it cannot be: not PostgreSQL, in a transaction, a statement already
    ahead, or tracing or query logging on — run it now instead.

    Django's execute wrappers see it when it is sent. `settle` reads the answer later:
    then `answered(first row or None)` runs (it may raise: the caller's verdict), or, when
    the statement failed, `failed()` and the error is raised (as Django's).
    """
    import psycopg
    from psycopg import generators
    from psycopg.adapt import PyFormat

    database = connection
    if getattr(_state, "ahead", None) is not None or database.in_atomic_block:
        return False
    if not _natively_bound(database) or not database.get_autocommit():
        return False
    driver = database.connection

    def send(sql: str, params: Any, many: bool, context: dict[str, Any]) -> None:
        transformer = psycopg.adapt.Transformer(driver)
        values = transformer.dump_sequence(params, [PyFormat.AUTO] * len(params))
        text, types, formats = (
            native_placeholders(sql).encode(),
            transformer.types,
            transformer.formats,
        )
        pgconn = driver.pgconn
        with database.wrap_database_errors:
            name = _prepared_name(driver, text, types)
            if name is None:
                pgconn.send_query_params(text, values, types, formats)
            else:
                pgconn.send_query_prepared(name, values, formats)
            driver.wait(generators.send(pgconn))  # flushed: it runs now
        _state.ahead = _Ahead(database, driver, transformer, answered, failed)

    executor: Callable[..., Any] = send
    for wrapper in reversed(database.execute_wrappers):  # as Django's cursor runs them
        executor = functools.partial(wrapper, executor)
    executor(sql, list(params), False, {"connection": database, "cursor": None})
    return True


# Per connection, how often each statement was sent ahead, or PREPARED once prepared.
_prepared: weakref.WeakKeyDictionary[Any, dict[bytes, int]] = weakref.WeakKeyDictionary()
PREPARED = -1


def _prepared_name(driver: Any, text: bytes, types: Sequence[int] | None) -> bytes | None:
    """The statement's name, prepared on this connection (by statement and parameter
    types) once it has been sent `prepare_threshold` times there, as psycopg prepares its
    own; None until then, and always behind PgBouncer (no threshold): sent unnamed."""
    from psycopg import pq

    threshold = driver.prepare_threshold
    if threshold is None:
        return None
    name = (
        b"ahead_"
        + hashlib.sha256(text + repr(tuple(types or ())).encode()).hexdigest()[:24].encode()
    )
    sent = _prepared.setdefault(driver, {})
    count = sent.get(name, 0)
    if count == PREPARED:
        return name
    if count < threshold:
        sent[name] = count + 1
        return None
    driver.pgconn.send_prepare(name, text, types)
    _answer(driver, expected=pq.ExecStatus.COMMAND_OK)
    sent[name] = PREPARED
    return name


def _answer(driver: Any, *, expected: Any) -> Any:
    """The answer to what was sent on the connection; its error raised if it is one."""
    from psycopg import errors, generators

    result = driver.wait(generators.fetch_many(driver.pgconn))[0]
    if result.status != expected:
        raise errors.error_from_result(result, encoding=driver.info.encoding)
    return result


def settle() -> None:
    """Read the answer of this thread's statement sent ahead, if there is one."""
    ahead = getattr(_state, "ahead", None)
    if ahead is None:
        return
    _state.ahead = None
    from psycopg import pq

    driver = ahead.driver
    if ahead.database.connection is not driver:  # closed meanwhile: committed or not
        raise OperationalError("The answer of a statement sent ahead was lost with its connection.")
    try:
        with ahead.database.wrap_database_errors:
            result = _answer(driver, expected=pq.ExecStatus.TUPLES_OK)
    except Exception:
        ahead.failed()
        raise
    ahead.transformer.set_pgresult(result)
    ahead.answered(ahead.transformer.load_row(0, tuple) if result.ntuples else None)


def _settle_first(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
) -> Any:
    settle()
    return execute(sql, params, many, context)


def settle_before_queries(sender: Any, connection: Any, **kwargs: Any) -> None:
    """connection_created: every query on the connection first reads the answer of a
    statement sent ahead. First in the list: `execute_wrapper()` blocks pop the last."""
    if _settle_first not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, _settle_first)
