"""What a tool call costs the database, counted (counts do not vary with the machine):
a read is one SELECT and one INSERT in one commit; a write is written ahead — its pending
event in its own commit — and completed in a second: at most 5 statements and 2 commits.
Neither touches a row shared with other calls (audit/sequencer.py chains events later)."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from django.db import connection

from connections import tools
from tests.callers import as_identifier

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]

WRITES = ("INSERT", "UPDATE", "DELETE", "WITH")


@dataclass
class Tally:
    statements: list[str] = field(default_factory=list)
    commits: int = 0


@contextmanager
def counted():
    """Statements sent, and commits: an outermost transaction's COMMIT, or a write sent
    outside any transaction (autocommit)."""
    tally = Tally()
    commit = connection.commit

    def counting_commit():
        tally.commits += 1
        commit()

    def execute(run, sql, params, many, context):
        tally.statements.append(sql)
        if not connection.in_atomic_block and sql.lstrip().upper().startswith(WRITES):
            tally.commits += 1
        return run(sql, params, many, context)

    connection.commit = counting_commit
    try:
        with connection.execute_wrapper(execute):
            yield tally
    finally:
        del connection.commit  # back to the class's method


def call(org, who, name, params):
    return tools.execute_tool(
        caller=as_identifier(org, who.user.identifier), tool_name=name, params=params
    )


def test_a_read_costs_at_most_3_statements_and_1_commit(org, alice, monday):
    call(org, alice, "monday_get_me", {})  # warm: last-used time, webhook subscribers
    with counted() as tally:
        call(org, alice, "monday_get_me", {})
    print("read:", len(tally.statements), "statements,", tally.commits, "commit(s)")
    assert len(tally.statements) <= 3 and tally.commits == 1, tally


def test_a_write_costs_at_most_5_statements_and_2_commits(org, alice, monday, boards):
    call(org, alice, "monday_get_me", {})
    with counted() as tally:
        call(org, alice, "monday_create_item", {"board_id": "1001", "item_name": "Counted"})
    print("write:", len(tally.statements), "statements,", tally.commits, "commit(s)")
    assert len(tally.statements) <= 5 and tally.commits == 2, tally
    assert not any("auditchain" in sql.lower() for sql in tally.statements)
