"""core/db.py: the hot statements, bound by PostgreSQL with its own `$n` placeholders (no
parse of the statement per call, whatever its size); and a statement sent ahead, whose
answer is read before the thread's next query or outbound request."""

from __future__ import annotations

import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
import pytest
from django.db import DatabaseError, OperationalError, connection, transaction

from core import db, outbound
from core.db import bound_cursor, native_placeholders, send_ahead, settle
from portal.models import Organization


def test_placeholders_are_numbered_in_order_and_a_literal_percent_kept():
    sql = "SELECT %s, %s WHERE name LIKE 'a%%' AND id = %s"
    assert native_placeholders(sql) == "SELECT $1, $2 WHERE name LIKE 'a%' AND id = $3"


@pytest.mark.parametrize("placeholder", ["%(name)s", "%b", "%t"])
def test_any_other_placeholder_is_refused_rather_than_guessed(placeholder):
    with pytest.raises(ValueError, match="Unsupported placeholder"):
        native_placeholders(f"SELECT {placeholder}")


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
def test_a_statement_of_many_parameters_binds_each_value_in_its_place():
    # Over psycopg's own parse cache limits (4 KB, 50 parameters), as an agent's tool
    # step with its audit event is.
    count = 60
    values = [f"value {index} %s $1 '" for index in range(count)]
    sql = "SELECT " + ", ".join(["%s::text"] * count) + " /* " + "x" * 4200 + " 100%% */"
    for _ in range(7):  # past the prepare threshold: prepared by the server, same answer
        with bound_cursor() as cursor:
            cursor.execute(sql, values)
            assert list(cursor.fetchone()) == values
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%100\\%%"]
        )
        assert cursor.fetchone()[0] == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
def test_it_is_psycopgs_raw_cursor_inside_djangos_wrapper():
    with bound_cursor() as cursor, connection.execute_wrapper(seen := _Seen()):
        assert isinstance(cursor.cursor, psycopg.RawCursor)
        cursor.execute("SELECT %s::int + 1", [41])
        assert cursor.fetchone()[0] == 42
    assert seen.statements == ["SELECT %s::int + 1"]  # execute wrappers see it as written
    with pytest.raises(DatabaseError), bound_cursor() as cursor:  # Django's errors
        cursor.execute("SELECT 1 / %s", [0])


class _Seen:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        self.statements.append(sql)
        return execute(sql, params, many, context)


def local_server(events: list) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            events.append("request")
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def ahead(sql: str, params: list, log: list) -> bool:
    return send_ahead(sql, params, answered=log.append, failed=lambda: log.append("failed"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
def test_a_statement_sent_ahead_is_answered_before_the_next_query():
    log: list = []
    assert ahead("SELECT %s::int + 1", [1], log)
    assert log == []  # sent, its answer not read yet
    assert not ahead("SELECT %s::int", [7], log)  # one at a time: run that one now
    Organization.objects.count()  # any query reads it first
    assert log == [(2,)]
    assert ahead("SELECT 1 WHERE false", [], log)
    with bound_cursor() as cursor:  # a hot statement too
        cursor.execute("SELECT %s::int", [5])
        assert cursor.fetchone() == (5,)
    assert log == [(2,), None]  # no row: None
    assert ahead("SELECT %s::text", ["released"], log)
    db.release_connection()
    assert log[-1] == ("released",)


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
def test_a_failed_statement_sent_ahead_raises_djangos_error_when_read():
    log: list = []
    assert ahead("SELECT 1 / %s::int", [0], log)
    with pytest.raises(DatabaseError, match="division by zero"):
        settle()
    assert log == ["failed"]
    settle()  # read once
    assert Organization.objects.count() == 0  # the connection goes on


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
def test_it_is_not_sent_ahead_inside_a_transaction_and_wrappers_see_it_once():
    log: list = []
    with transaction.atomic():
        assert not ahead("SELECT 1", [], log)
    with connection.execute_wrapper(seen := _Seen()):
        assert ahead("SELECT %s::int", [3], log)
        settle()
    assert seen.statements == ["SELECT %s::int"] and log == [(3,)]


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
def test_it_is_prepared_once_sent_often_on_a_connection_unless_nothing_may_be():
    log: list = []

    def prepared() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'ahead_%%'")
            return cursor.fetchone()[0]

    connection.ensure_connection()
    threshold = connection.connection.prepare_threshold
    for _ in range(threshold):  # sent unnamed until then
        assert ahead("SELECT %s::int * 2", [21], log)
        settle()
    assert prepared() == 0
    for _ in range(3):
        assert ahead("SELECT %s::int * 2", [21], log)
        settle()
    assert log == [(42,)] * (threshold + 3)
    assert prepared() == 1
    connection.close()
    connection.ensure_connection()
    connection.connection.prepare_threshold = None  # behind PgBouncer
    for _ in range(10):
        assert ahead("SELECT %s::int * 2", [4], log)
        settle()
    assert log[-1] == (8,) and prepared() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
@pytest.mark.parametrize("read_call", [False, True])
def test_no_request_leaves_before_the_statement_ahead_is_answered_but_a_read_calls(read_call):
    # A read call's request leaves while the step held for it runs (it is sent once the
    # call's account is looked up); anything else only once the statement is answered.
    events: list = []
    server = local_server(events)
    try:
        assert send_ahead(
            "SELECT pg_sleep(0.3)",
            [],
            answered=lambda row: events.append("answered"),
            failed=list,
            held=read_call,
        )
        with db.read_call() if read_call else contextlib.nullcontext():
            if read_call:
                with db.independent():
                    Organization.objects.count()  # the lookup; it is sent after it
            with outbound.new_client(guarded=False, timeout=5) as client:
                assert client.get(f"http://127.0.0.1:{server.server_port}/").status_code == 204
    finally:
        server.shutdown()
    assert events == (["request", "answered"] if read_call else ["answered", "request"])


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
def test_an_answer_lost_with_its_connection_is_an_error_not_a_guess():
    log: list = []
    assert ahead("SELECT 1", [], log)
    connection.close()  # not by the portal's own paths, which read the answer first
    with pytest.raises(OperationalError, match="lost with its connection"):
        settle()
    assert log == []  # neither answered nor failed: whether it committed is unknown
    assert Organization.objects.count() == 0


# --- Held statements, read calls, reads ahead ------------------------------------------


@pytest.fixture
def notes_table():
    """A table of the test's own, to see what committed and in which order."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE held_notes (id serial PRIMARY KEY, note text)")
    yield
    connection.close()  # whatever a failing test left ahead goes with its connection
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE held_notes")


def notes() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT note FROM held_notes ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def hold(note: str, log: list) -> bool:
    return send_ahead(
        "INSERT INTO held_notes (note) VALUES (%s) RETURNING id",
        [note],
        answered=log.append,
        failed=lambda: log.append("failed"),
        held=True,
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
def test_a_held_statement_waits_for_the_next_query_and_lets_an_independent_one_go_first(
    notes_table,
):
    log: list = []
    with connection.execute_wrapper(seen := _Seen()):
        assert hold("held", log)
        assert not hold("second", log)  # one held at a time
        with db.independent():
            assert Organization.objects.count() == 0  # runs first; the statement waits
        assert log == [] and len(seen.statements) == 1
        assert notes() == ["held"]  # any other query: sent and answered first
    assert len(log) == 1 and log[0][0] > 0
    assert "held_notes" in seen.statements[1] and "INSERT" in seen.statements[1]


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
@pytest.mark.parametrize("held", [False, True])
def test_a_transaction_begins_only_once_the_statement_ahead_is_answered(notes_table, held):
    # psycopg cannot leave autocommit with a statement in flight, and a held statement
    # must not run inside the transaction (it would be rolled back with it).
    log: list = []
    assert send_ahead(
        "INSERT INTO held_notes (note) VALUES (%s) RETURNING id",
        ["ahead"],
        answered=log.append,
        failed=list,
        held=held,
    )
    with pytest.raises(RuntimeError), transaction.atomic():
        assert len(log) == 1  # answered when the transaction began
        Organization.objects.count()
        raise RuntimeError("rolled back")
    assert notes() == ["ahead"]  # committed on its own


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
def test_a_held_statements_error_is_raised_when_the_read_call_ends_not_inside_it(notes_table):
    log: list = []
    assert send_ahead(
        "SELECT 1 / %s::int",
        [0],
        answered=log.append,
        failed=lambda: log.append("failed"),
        held=True,
    )
    with pytest.raises(DatabaseError, match="division by zero"), db.read_call():
        with db.independent():
            Organization.objects.count()
        assert notes() == []  # a query inside the call goes on; the error waits
        log.append("call done")
    assert log == ["failed", "call done"]
    assert notes() == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
def test_an_error_ahead_of_a_request_is_raised_before_any_byte_leaves():
    events: list = []
    server = local_server(events)
    try:
        assert send_ahead("SELECT 1 / %s::int", [0], answered=events.append, failed=list)
        with outbound.new_client(guarded=False, timeout=5) as client, pytest.raises(DatabaseError):
            client.get(f"http://127.0.0.1:{server.server_port}/")  # Django's error, as it is
    finally:
        server.shutdown()
    assert events == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
def test_a_query_read_ahead_is_taken_by_the_same_query_and_dropped_by_any_other(org):
    from core.prepared import PreparedQuery

    query = PreparedQuery(lambda org: Organization.objects.filter(pk=org.pk), org=Organization)
    other = Organization(pk=org.pk + 1000)
    for _ in range(7):  # the same answer before and after it is prepared
        with connection.execute_wrapper(seen := _Seen()):
            query.read_ahead(org=org)
            assert [o.pk for o in query.run(org=org)] == [org.pk]
        assert len(seen.statements) == 1  # sent once, its rows taken
    with connection.execute_wrapper(seen := _Seen()):
        query.read_ahead(org=org)
        assert query.run(org=other) == []  # not the query read ahead: asked again
    assert len(seen.statements) == 2
    assert db.read_ahead("SELECT 1 / %s::int", [0])
    assert Organization.objects.count() == 1  # a failed read ahead nobody took: no error


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
def test_nothing_left_ahead_crosses_into_the_threads_next_task(notes_table, caplog):
    log: list = []
    assert hold("left held", log)
    db.settle_left_over()
    assert len(log) == 1 and notes() == ["left held"]
    assert send_ahead("SELECT 1 / %s::int", [0], answered=log.append, failed=list)
    db.settle_left_over()  # logged, not raised: the work is over
    assert "left ahead at the end of a task failed" in caplog.text
    assert hold("next", log)  # the next task starts with nothing ahead
    db.settle_left_over()
    assert notes() == ["left held", "next"]
