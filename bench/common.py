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
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("PORTAL_TESTING", "1")  # throwaway secrets; nothing here is production


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
        connection.creation.destroy_test_db(old_name, verbosity=0)


def timed(fn: Callable[[], object], n: int) -> list[float]:
    """Durations in seconds of n calls of fn (after 50 warm-up calls)."""
    for _ in range(min(50, n)):
        fn()
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def p95_ms(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] * 1000


def database_vendor() -> str:
    from django.db import connection

    return connection.vendor
