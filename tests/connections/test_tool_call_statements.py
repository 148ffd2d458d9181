"""What a tool call costs the database, counted (counts do not vary with the machine):
a read is one SELECT and one INSERT (the event, its usage row along) that commits
itself: 2 statements, 2 round trips, 1 commit; a write is written ahead — its pending
event in its own commit — and completed in a second (which does not wait for its WAL
flush): 3 statements, 3 round trips, 2 commits. No BEGIN or COMMIT is sent: an event no
follower writes along with needs no transaction of its own (audit/trail.py). Neither
touches a row shared with other calls (audit/sequencer.py chains events later)."""

from __future__ import annotations

import pytest

from connections import tools
from tests.callers import as_identifier
from tests.statements import counted

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]


def call(org, who, name, params):
    return tools.execute_tool(
        caller=as_identifier(org, who.user.identifier), tool_name=name, params=params
    )


def costs(tally) -> tuple[int, int, int]:
    print(tally)
    return len(tally.statements), tally.round_trips, tally.commits


def test_a_read_costs_2_statements_2_round_trips_and_1_commit(org, alice, monday):
    call(org, alice, "monday_get_me", {})  # warm: last-used time, webhook subscribers
    with counted() as tally:
        call(org, alice, "monday_get_me", {})
    assert costs(tally) == (2, 2, 1), tally


def test_a_write_costs_3_statements_3_round_trips_and_2_commits(org, alice, monday, boards):
    call(org, alice, "monday_get_me", {})
    with counted() as tally:
        call(org, alice, "monday_create_item", {"board_id": "1001", "item_name": "Counted"})
    assert costs(tally) == (3, 3, 2), tally
    # The completion's commit does not wait for its WAL flush; the pending event's does.
    begun, completed = tally.statements[1:]
    assert "synchronous_commit" not in begun and "synchronous_commit" in completed
    assert not any("auditchain" in sql.lower() for sql in tally.statements)


def test_a_reads_statements_are_prepared_by_the_server_after_a_few_calls(org, alice, monday):
    """core.db.bound_cursor: the account lookup and the audit insert are bound by
    PostgreSQL, so psycopg prepares them on their 5th run (settings: prepare_threshold)
    and later calls skip parsing and planning."""
    from django.db import connection

    def prepared() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            return [row[0].lower() for row in cursor.fetchall()]

    connection.close()  # a new session: nothing prepared yet
    call(org, alice, "monday_get_me", {})
    assert not any("auditevent" in sql for sql in prepared())
    for _ in range(6):
        call(org, alice, "monday_get_me", {})
    statements = prepared()
    assert any('insert into "connections_auditevent"' in sql for sql in statements), statements
    assert any(
        sql.startswith("select") and 'from "connections_connectedaccount"' in sql
        for sql in statements
    ), statements
