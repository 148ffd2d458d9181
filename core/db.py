"""Database connections only around database work, and cursors for the hot statements.

A worker thread that is about to wait on a model or a provider gives its connection
back (to the pool when DB_POOL_MAX_SIZE is set, else it closes it), so N threads waiting
on slow answers do not hold N PostgreSQL connections. Inside a transaction nothing is
released. Web requests keep Django's usual per-request handling.

A hot statement may also be sent ahead (`send_ahead`): PostgreSQL runs and commits it
while the thread goes on, and its answer is read (`settle`) before anything else uses the
connection, before a transaction begins (core/postgresql) and before any request leaves
the process (core/outbound.py) — an agent's tool step is on disk before the model sees
its result, while the model request was being built. A statement may also be held and
sent later: the step of a model message asking for a read lets the read's account lookup
go first (`independent`), then goes with the read's request (`read_call`), and runs while
the provider answers.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import re
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError, OperationalError, connection, connections

logger = logging.getLogger(__name__)
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
#
# Per thread, at most one statement in flight (`_state.flight`: sent, its answer not read)
# and one held (`_state.held`: built, not sent yet). Django's execute wrappers run as each
# is sent, when neither slot is taken.


@dataclass
class _Ahead:
    database: Any
    answered: Callable[[Any], None]
    failed: Callable[[], None]
    held: bool = False  # sent later; a read call's request may leave before its answer
    key: tuple | None = None  # a read ahead: the (SQL, parameters) it answers
    rows: list[tuple] | None = None  # and the rows of its answer
    send: Callable[[], None] | None = None
    driver: Any = None  # the psycopg connection it was sent on
    transformer: Any = None


@dataclass
class _ReadCall:
    verdict: BaseException | None = None  # a held statement's error, raised at the end


@dataclass
class _Due:
    """A request leaving with a statement ahead (`before_request`)."""

    after_sent: bool  # answered once the request has left, not before its first byte
    release: bool  # then the connection is given back


def send_ahead(
    sql: str,
    params: Sequence[Any],
    *,
    answered: Callable[[tuple | None], None],
    failed: Callable[[], None],
    held: bool = False,
) -> bool:
    """Send one autocommitted statement without waiting for its answer; False (nothing
    sent) where it cannot be: not PostgreSQL, in a transaction, a statement already
    ahead, or tracing or query logging on — run it now instead.

    `held`: kept unsent until the thread's next query, transaction or request, and sent
    then — after a lookup that does not depend on it (`independent`), and in a read tool
    call (`read_call`) right after that lookup, to run while the call goes on. A held
    statement carries no audit event (nothing must wait for it to be on disk).

    `settle` reads the answer later: then `answered(first row or None)` runs (it may
    raise: the caller's verdict), or, when the statement failed, `failed()` and the error
    is raised (as Django's).
    """
    taken = _state_of("held") is not None or (not held and _state_of("flight") is not None)
    if taken or not _sendable(connection):
        return False
    ahead = _Ahead(connection, answered, failed, held=held)
    _prepare(ahead, sql, params)
    if held:
        _state.held = ahead
    else:
        _launch(ahead)
    return True


def read_ahead(sql: str, params: Sequence[Any]) -> bool:
    """Send a query the thread is about to ask (its rows: `take_read_ahead`), so that it
    runs while the thread finishes what comes first; False where it cannot be sent."""
    if _state_of("held") is not None or _state_of("flight") is not None:
        return False
    if not _sendable(connection):
        return False
    ahead = _Ahead(connection, _nothing, _nothing, key=(sql, list(params)))
    _prepare(ahead, sql, params)
    _launch(ahead)
    return True


def take_read_ahead(sql: str, params: Sequence[Any]) -> list[tuple] | None:
    """The rows of this very query if it was read ahead (answered now), else None."""
    flight = _state_of("flight")
    if flight is None or flight.key is None or flight.key != (sql, list(params)):
        return None
    _state.flight = None
    _read(flight)
    return flight.rows


def _nothing(*args: Any) -> None:
    pass


def _state_of(slot: str) -> _Ahead | None:
    return getattr(_state, slot, None)


def _sendable(database: Any) -> bool:
    if database.in_atomic_block or not _natively_bound(database):
        return False
    return bool(database.get_autocommit())


def _prepare(ahead: _Ahead, sql: str, params: Sequence[Any]) -> None:
    """The statement's sending, through Django's execute wrappers (as its cursor runs them)."""
    database = ahead.database

    def send(sql: str, params: Any, many: bool, context: dict[str, Any]) -> None:
        import psycopg
        from psycopg import generators
        from psycopg.adapt import PyFormat

        database.ensure_connection()  # a held statement: the connection may be a new one
        driver = database.connection
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
        ahead.driver, ahead.transformer = driver, transformer

    executor: Callable[..., Any] = send
    for wrapper in reversed(database.execute_wrappers):
        executor = functools.partial(wrapper, executor)
    ahead.send = functools.partial(
        executor, sql, list(params), False, {"connection": database, "cursor": None}
    )


def _launch(ahead: _Ahead) -> None:
    """Send it (both slots are free: whatever Django's wrappers run finds nothing ahead);
    it is in flight then."""
    send, ahead.send = ahead.send, None
    if send is not None:
        send()
    _state.flight = ahead


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
    name = _statement_name(text, tuple(types or ()))
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


@functools.lru_cache(maxsize=256)
def _statement_name(text: bytes, types: tuple[int, ...]) -> bytes:
    return b"ahead_" + hashlib.sha256(text + repr(types).encode()).hexdigest()[:24].encode()


def _answer(driver: Any, *, expected: Any) -> Any:
    """The answer to what was sent on the connection; its error raised if it is one."""
    from psycopg import errors, generators

    result = driver.wait(generators.fetch_many(driver.pgconn))[0]
    if result.status != expected:
        raise errors.error_from_result(result, encoding=driver.info.encoding)
    return result


def settle() -> None:
    """Read the answer of this thread's statement in flight; send the one held and read
    its answer too, unless the query about to run is `independent` of it."""
    try:
        _read_flight()
        held = _state_of("held")
        if held is not None and not getattr(_state, "independent", False):
            _state.held = None
            _launch(held)
            _read_flight()
    except Exception as verdict:
        call: _ReadCall | None = _state_of_call()
        if call is None:
            raise
        # Inside a read tool call the verdict waits for its end: raised from within the
        # call, a lost lease or a database error would pass for the call's own failure.
        call.verdict = call.verdict or verdict


def _state_of_call() -> _ReadCall | None:
    return getattr(_state, "read_call", None)


def _read_flight() -> None:
    flight = _state_of("flight")
    if flight is None:
        return
    _state.flight = None
    if flight.key is None:
        _read(flight)
        return
    with contextlib.suppress(DatabaseError):  # a read ahead nobody took: rows not needed
        _read(flight)


def _read(ahead: _Ahead) -> None:
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
    transformer = ahead.transformer
    transformer.set_pgresult(result)
    if ahead.key is not None:
        ahead.rows = transformer.load_rows(0, result.ntuples, tuple)
    else:
        ahead.answered(transformer.load_row(0, tuple) if result.ntuples else None)


@contextlib.contextmanager
def independent() -> Iterator[None]:
    """The queries here do not depend on a held statement (a tool call's account lookup
    reads accounts; the held model step writes the run): they run before it is sent. In
    a `read_call` it is sent right after them, to run while the call goes on."""
    _state.independent = True
    try:
        yield
    finally:
        _state.independent = False
    call = _state_of_call()
    held = _state_of("held")
    if call is not None and held is not None:
        try:
            _read_flight()
            _state.held = None
            _launch(held)
        except Exception as verdict:
            call.verdict = call.verdict or verdict


@contextlib.contextmanager
def read_call() -> Iterator[None]:
    """A read tool call: a held statement (the step of the model message asking for it)
    is sent once the call's account is looked up (`independent`) and answered once the
    call's request has left (`request_sent`), running while the provider works; or here
    at the end, where its verdict (a lost lease, an error) is raised. Never for a write:
    nothing reaches a provider on a write's behalf before the step asking for it is
    answered."""
    call = _state.read_call = _ReadCall()
    try:
        yield
    finally:
        _state.read_call = None
        settle()
        if call.verdict is not None:
            raise call.verdict


def before_request(*, release: bool = False) -> None:
    """A request is about to leave this thread; with `release` (in workers) the connection
    is given back first. A statement ahead is answered just before the request's first
    byte is written (`request_leaving`), so that building and preparing the request
    overlap its run — or, a read call's held statement, once the request has left
    (`request_sent`), running while the provider works; the release waits for it."""
    flight, held = _state_of("flight"), _state_of("held")
    if flight is None and held is None:
        if release:
            release_connection()
        return
    call = _state_of_call()
    due: _Due | None = getattr(_state, "due", None)
    _state.due = _Due(
        after_sent=call is not None and (held is not None or (flight is not None and flight.held)),
        release=release or (due is not None and due.release),
    )


def request_leaving() -> None:
    """The request's first byte is about to be written (or a local service to answer it):
    the statement ahead of it is answered now — its error raised, and nothing written."""
    _answer_due(after_sent=False)


def request_sent() -> None:
    """The request has left (its answer is awaited next): a read call's held statement is
    answered now, while the provider works on the request (a verdict waits for the call's
    end), and the connection given back if that was asked for."""
    _answer_due(after_sent=True)


def _answer_due(*, after_sent: bool) -> None:
    due: _Due | None = getattr(_state, "due", None)
    if due is None or due.after_sent != after_sent:
        return
    _state.due = None
    settle()
    if due.release:
        release_connection()


def settle_left_over() -> None:
    """At the end of a unit of work on this thread (a run's drive): whatever it left ahead
    is answered, never carried into the thread's next task, whichever tenant that serves;
    an error is logged, not raised (the work is over)."""
    _state.due, _state.read_call, _state.independent = None, None, False
    try:
        settle()
    except Exception:
        logger.exception("a statement left ahead at the end of a task failed")


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
