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


ROOT = Path(__file__).resolve().parent.parent


def database_url(settings_dict: dict) -> str:
    """The DATABASE_URL of the bench's database, for the servers a bench starts."""
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    user = settings_dict.get("USER") or "postgres"
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{settings_dict['NAME']}"


def wait_until_up(url: str) -> None:
    """Poll a server a bench started until it answers (below 500), or fail after ~20 s."""
    import httpx

    for _ in range(100):
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def connected_tenant(emulator, *, name: str, owner_email: str):
    """An organization with a monday connection on the emulator (client `bench`), its owner
    connected through the portal's own flow, and an API key: (org, owner, key)."""
    from django.test import Client

    from connections.configuration import create_connection
    from portal.apikeys import mint_api_key
    from portal.callers import Caller
    from portal.organizations import bootstrap_organization
    from tests.monday_support import callback_path, emulator_overrides, follow_to_provider

    org, owner, _ = bootstrap_organization(name=name, owner_email=owner_email)
    create_connection(
        org=org,
        name="monday",
        provider="monday",
        client_id="bench",
        client_secret="bench-secret",
        **emulator_overrides(emulator),
    )
    browser = Client()
    browser.force_login(owner.user)
    start = browser.post("/connected-accounts/monday/connect/")
    browser.get(callback_path(follow_to_provider(start["Location"])))
    _, key = mint_api_key(caller=Caller.of_member(owner), name="bench")
    return org, owner, key
