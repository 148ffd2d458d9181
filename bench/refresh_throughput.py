"""Proactive token refresh at scale (run on PostgreSQL with Redis up:
DATABASE_URL=postgres://… and Redis at 127.0.0.1:6379).

ACCOUNTS accounts of a rotating provider (GitHub's catalog entry: every refresh kills the
previous refresh token, reuse revokes the family) are due; the token endpoint answers
after TOKEN_SECONDS. The periodic job `refresh_due_tokens` is started twice at once (two
schedulers racing) and two worker processes refresh. Target: all refreshed within 60 s,
exactly ACCOUNTS refresh calls at the emulator, 0 reuse.

Baseline, same run: one account refreshed alone, in this process; ACCOUNTS × that is
the one-at-a-time sweep of before.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", "5000"))
TOKEN_SECONDS = float(os.environ.get("BENCH_TOKEN_SECONDS", "0.2"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
QUEUE = f"bench-{os.getpid()}"

os.environ["REDIS_URL"] = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/7")
os.environ["CELERY_QUEUE"] = QUEUE
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"

from bench.common import bench_database, database_vendor  # noqa: E402


def main() -> None:
    with bench_database():
        from django.conf import settings

        from connections import tokens
        from connections.configuration import create_connection
        from connections.models import AccountStatus, ConnectedAccount
        from portal.organizations import bootstrap_organization
        from tests.fakes.catalog import emulator_class
        from tests.fakes.credentials import CLIENT_ID, CLIENT_SECRET
        from tests.provider_support import seed_accounts
        from tests.worker_support import Workers, wait_for

        emulator = emulator_class("github")().start()
        emulator.add_client(CLIENT_ID, CLIENT_SECRET, ["http://testserver/oauth/callback/github/"])
        org, _, _ = bootstrap_organization(name="Bench", owner_email="owner@bench.test")
        connection = create_connection(
            org=org,
            name="github",
            provider="github",
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            **emulator.overrides,
        )
        emulator.token_delay = TOKEN_SECONDS

        # Baseline: one refresh, in this process.
        (alone,) = seed_accounts(org, connection, emulator, 1, expires_in=60, prefix="alone")
        began = time.monotonic()
        tokens.refresh_access_token(alone)
        one_refresh = time.monotonic() - began
        ConnectedAccount.objects.filter(pk=alone.pk).delete()
        calls_before = emulator.refresh_count

        seed_accounts(org, connection, emulator, ACCOUNTS, expires_in=120)
        pool = Workers(Path(tempfile.mkdtemp(prefix="bench-workers-")), queue=QUEUE)
        pool.env["DB_POOL_MAX_SIZE"] = "20"
        pool.start(WORKERS, concurrency=settings.WORKER_CONCURRENCY)
        try:
            began = time.monotonic()
            pool.send("connections.tasks.refresh_due_tokens")
            pool.send("connections.tasks.refresh_due_tokens")
            refreshed = ConnectedAccount.objects.filter(last_refreshed_at__isnull=False)
            wait_for(lambda: refreshed.count() >= ACCOUNTS, timeout=600, step=0.2)
            wall = time.monotonic() - began
            time.sleep(3)  # any duplicate still in flight would land now
        finally:
            pool.stop()
            emulator.stop()

        calls = emulator.refresh_count - calls_before
        active = ConnectedAccount.objects.filter(status=AccountStatus.ACTIVE).count()
        print(f"database: {database_vendor()}; broker: Redis")
        print(
            f"accounts due: {ACCOUNTS}; token endpoint latency {TOKEN_SECONDS * 1000:.0f} ms; "
            f"{WORKERS} workers x {settings.WORKER_CONCURRENCY} threads; jitter window "
            f"{settings.REFRESH_JITTER_SECONDS:.0f} s; refresh_due_tokens started twice at once"
        )
        print(f"all refreshed in {wall:.1f} s (target <= 60 s)")
        print(f"refresh calls at the emulator: {calls} (target exactly {ACCOUNTS})")
        print(f"reuse detected: {emulator.reuse_detected} (target 0); still ACTIVE: {active}")
        print(
            f"baseline, one refresh alone: {one_refresh * 1000:.0f} ms; one at a time for "
            f"{ACCOUNTS}: {one_refresh * ACCOUNTS:.0f} s"
        )
        print(f"ratio wall / one-at-a-time: {wall / (one_refresh * ACCOUNTS):.3f}")


if __name__ == "__main__":
    main()
