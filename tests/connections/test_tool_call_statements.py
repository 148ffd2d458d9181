"""What a tool call costs the database, counted (counts do not vary with the machine):
a read is one SELECT and one INSERT (the event, its usage row along) in one commit; a
write is written ahead — its pending event in its own commit — and completed in a second:
4 statements (one of them `SET LOCAL synchronous_commit`) and 2 commits.
Neither touches a row shared with other calls (audit/sequencer.py chains events later)."""

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


def test_a_read_costs_2_statements_and_1_commit(org, alice, monday):
    call(org, alice, "monday_get_me", {})  # warm: last-used time, webhook subscribers
    with counted() as tally:
        call(org, alice, "monday_get_me", {})
    print("read:", len(tally.statements), "statements,", tally.commits, "commit(s)")
    assert len(tally.statements) == 2 and tally.commits == 1, tally


def test_a_write_costs_4_statements_and_2_commits(org, alice, monday, boards):
    call(org, alice, "monday_get_me", {})
    with counted() as tally:
        call(org, alice, "monday_create_item", {"board_id": "1001", "item_name": "Counted"})
    print("write:", len(tally.statements), "statements,", tally.commits, "commit(s)")
    assert len(tally.statements) == 4 and tally.commits == 2, tally
    assert not any("auditchain" in sql.lower() for sql in tally.statements)
