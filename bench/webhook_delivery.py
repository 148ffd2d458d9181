"""Webhook delivery under load (run on PostgreSQL with Redis up: DATABASE_URL=postgres://…).

EVENTS events, committed PER_COMMIT at a time (busy changes), go to three
endpoints on loopback: a healthy one, one that answers after SLOW_SECONDS, one that
answers 500. Two worker processes (Redis broker; one runs the scheduler) deliver. Target:
the healthy endpoint receives all its events within 30 s — the slow and the failing
endpoints must not hold it up. Reports events/s and the delay from commit to delivery
(p50, p95) at the healthy endpoint.

Baseline, same run: the rate at which the same events were committed (what the
deliveries have to keep up with).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

EVENTS = int(os.environ.get("BENCH_EVENTS", "10000"))
SLOW_SECONDS = float(os.environ.get("BENCH_SLOW_SECONDS", "2"))
PER_COMMIT = int(os.environ.get("BENCH_PER_COMMIT", "10"))
QUEUE = f"bench-{os.getpid()}"

os.environ["REDIS_URL"] = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/7")
os.environ["CELERY_QUEUE"] = QUEUE
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"
os.environ.setdefault("DB_POOL_MAX_SIZE", "20")

from bench.common import bench_database, database_vendor  # noqa: E402


def first_arrivals(receiver) -> dict[str, float]:
    """When each message id first reached the receiver."""
    first: dict[str, float] = {}
    for received in list(receiver.received):
        first.setdefault(received.headers.get("webhook-id", ""), received.at)
    return first


def main() -> None:
    with bench_database():
        from django.db import transaction

        from portal.organizations import bootstrap_organization
        from tests.fakes.webhook_receiver import WebhookReceiver
        from tests.worker_support import Workers, wait_for
        from webhooks import outbox
        from webhooks.models import WebhookAttempt, WebhookEndpoint

        org, _, _ = bootstrap_organization(name="Bench", owner_email="owner@bench.test")
        healthy, slow, failing = (WebhookReceiver().start() for _ in range(3))
        slow.delay = SLOW_SECONDS
        failing.script = [(500, 0)] * (EVENTS * 10)
        endpoints = []
        for receiver in (healthy, slow, failing):
            endpoint = WebhookEndpoint(organization=org, url=receiver.url)
            endpoint.set_secret("secret_sealed", "whsec_" + "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0")
            endpoint.save()
            endpoints.append(endpoint)
        ids = [e.pk for e in endpoints]

        pool = Workers(Path(tempfile.mkdtemp(prefix="bench-workers-")), queue=QUEUE)
        pool.env["DB_POOL_MAX_SIZE"] = "20"
        pool.start(1, beat=True)
        pool.start(1)
        committed: dict[str, float] = {}
        try:
            began = time.time()
            for first in range(0, EVENTS, PER_COMMIT):
                with transaction.atomic():
                    batch = [
                        outbox.publish(
                            organization=org,
                            event_type="webhook.test",
                            data={"message": f"event {n}"},
                            endpoint_ids=ids,
                        )
                        for n in range(first, min(first + PER_COMMIT, EVENTS))
                    ]
                at = time.time()
                committed.update((event.webhook_id, at) for event in batch)
            produced_in = time.time() - began
            wait_for(lambda: len(first_arrivals(healthy)) >= EVENTS, timeout=300, step=0.2)
            arrived = first_arrivals(healthy)
            all_in = max(arrived.values()) - began
            slow_count = len({r.headers.get("webhook-id") for r in slow.received})
            failing_attempts = WebhookAttempt.objects.filter(delivery__endpoint_id=ids[2]).count()
        finally:
            pool.stop()
            for receiver in (healthy, slow, failing):
                receiver.stop()

        delays = sorted(arrived[i] - committed[i] for i in committed if i in arrived)
        print(f"database: {database_vendor()}; broker: Redis; 2 worker processes")
        print(
            f"events: {EVENTS} to 3 endpoints (healthy; answering in {SLOW_SECONDS:.0f} s; "
            "answering 500)"
        )
        print(
            f"baseline, events committed: {EVENTS / produced_in:.0f}/s ({produced_in:.1f} s, "
            f"{PER_COMMIT} per transaction)"
        )
        print(
            f"healthy endpoint: all {EVENTS} received {all_in:.1f} s after the first commit "
            f"(target <= 30 s); {EVENTS / all_in:.0f} events/s"
        )
        print(
            f"commit -> delivery at the healthy endpoint: p50 {statistics.median(delays):.2f} s, "
            f"p95 {statistics.quantiles(delays, n=20)[-1]:.2f} s"
        )
        print(
            f"meanwhile: the slow endpoint received {slow_count}, the failing one had "
            f"{failing_attempts} attempts (retries back off)"
        )
        print(
            f"ratio delivery rate / commit rate: {(EVENTS / all_in) / (EVENTS / produced_in):.2f}"
        )


if __name__ == "__main__":
    main()
