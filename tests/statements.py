"""SQL statements and commits counted on the connection (counts do not vary with the
machine, so tests pin them where benchmarks can only time them)."""

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


@contextmanager
def counted() -> Iterator[Tally]:
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
