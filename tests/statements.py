"""SQL statements, commits and round trips counted on the connection (counts do not vary
with the machine, so tests pin them where benchmarks can only time them)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection

WRITES = ("INSERT", "UPDATE", "DELETE", "WITH")


@dataclass
class Tally:
    statements: list[str] = field(default_factory=list)
    commits: int = 0
    # Each statement, and on PostgreSQL each BEGIN and COMMIT the driver sends for an
    # explicit transaction (an autocommitted statement commits without one).
    round_trips: int = 0


@contextmanager
def counted() -> Iterator[Tally]:
    """Statements sent; commits: an outermost transaction's COMMIT, or a write sent
    outside any transaction (autocommit); and round trips."""
    tally = Tally()
    commit = connection.commit

    def counting_commit():
        tally.commits += 1
        tally.round_trips += connection.vendor == "postgresql"
        commit()

    def execute(run, sql, params, many, context):
        tally.statements.append(sql)
        tally.round_trips += 1 + begins_first()
        if not connection.in_atomic_block and sql.lstrip().upper().startswith(WRITES):
            tally.commits += 1
        return run(sql, params, many, context)

    connection.commit = counting_commit
    connection.ensure_connection()
    try:
        with connection.execute_wrapper(execute):
            yield tally
    finally:
        del connection.commit  # back to the class's method


def begins_first() -> bool:
    """Whether psycopg sends a BEGIN before the next statement: outside autocommit, when
    no transaction is open yet."""
    if connection.vendor != "postgresql":
        return False
    from psycopg.pq import TransactionStatus

    driver = connection.connection
    return not driver.autocommit and driver.info.transaction_status == TransactionStatus.IDLE
