"""Shared set-up for benchmarks: a throwaway test database and timing helpers.

Run a benchmark from the repository root, e.g. `.venv/bin/python -m bench.vault_refresh`;
set DATABASE_URL to run it on PostgreSQL.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")  # throwaway secrets


@contextmanager
def bench_database() -> Iterator[None]:
    """Create a fresh test database (test_<name>), yield, then drop it."""
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        yield
    finally:
        if connection.vendor == "postgresql":
            # Servers a benchmark started (threads, worker processes) may still hold
            # connections: end them, or the database cannot be dropped.
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
        connection.creation.destroy_test_db(old_name, verbosity=0)


def timed(*fns: Callable[[], object], n: int) -> list[list[float]] | list[float]:
    """Durations in seconds of n calls of each fn (after 50 warm-up calls of each).

    Several functions are interleaved call by call, so a baseline and the code under
    test see the same machine: a noisy neighbour slows both, not one of them.
    Returns one list per function (the list itself for a single function).
    """
    for _ in range(min(50, n)):
        for fn in fns:
            fn()
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(n):
        for fn, out in zip(fns, samples, strict=True):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return samples[0] if len(fns) == 1 else samples


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def p95_ms(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] * 1000


def database_vendor() -> str:
    from django.db import connection

    return connection.vendor
