"""DESIGN §13 rule 22 in a real worker: each kind of background work has its own bounded
share of the worker's threads. Slow webhook endpoints take at most the webhooks' share;
an agent run queued behind them still gets a thread at once, and the deferred senders
deliver everything afterwards. PostgreSQL and Redis (tests/worker_support.py)."""

from __future__ import annotations

import itertools
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import RunStatus
from tests.agents.test_workers import finished, queued_run
from tests.callers import as_member
from tests.fakes.openai_server import reply
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.worker_support import wait_for
from webhooks import endpoints
from webhooks.models import WebhookDelivery, WebhookEvent

pytestmark = pytest.mark.django_db(transaction=True)

SLOW = 2.0  # seconds each endpoint takes to answer


def _pending(org, endpoint, count: int) -> None:
    for n in range(count):
        event = WebhookEvent.objects.create(
            organization=org, type="webhook.test", payload={"type": "webhook.test", "n": n}
        )
        WebhookDelivery.objects.create(
            organization=org,
            event=event,
            endpoint=endpoint,
            next_attempt_at=timezone.now() - timedelta(seconds=1),
        )


def test_slow_webhook_endpoints_cannot_starve_agent_runs(workers, org, owner, agent, model):
    receivers = [WebhookReceiver().start() for _ in range(3)]
    try:
        for receiver in receivers:
            receiver.delay = SLOW
            endpoint, _ = endpoints.create_endpoint(
                caller=as_member(owner), url=receiver.url, event_types=[]
            )
            _pending(org, endpoint, 2)
        model.answer_with(lambda request: reply("Done."))
        workers.start(1, concurrency=3, WORKER_BULKHEADS="runs=1,upkeep=1,webhooks=1")

        for endpoint_id in WebhookDelivery.objects.values_list("endpoint_id", flat=True).distinct():
            workers.send("webhooks.tasks.deliver_endpoint", str(endpoint_id))
        wait_for(lambda: any(r.received for r in receivers), timeout=30, step=0.05)
        run = queued_run(agent, owner, "Say done")
        sent_at = time.monotonic()
        workers.send("agents.tasks.run_agent", str(run.pk))
        run = wait_for(lambda: finished(run), timeout=30, step=0.05)
        took = time.monotonic() - sent_at

        assert run.status == RunStatus.SUCCEEDED, run.status_reason
        assert took < SLOW, f"the run waited {took:.1f} s behind slow webhook endpoints"
        assert any(not r.received for r in receivers)  # webhooks were still queued
        wait_for(
            lambda: not WebhookDelivery.objects.filter(status="pending").exists(),
            timeout=60,
            step=0.2,
        )
        # One sender at a time (the webhooks' share): the endpoints were served in turn.
        firsts = sorted(min(item.at for item in r.received) for r in receivers)
        assert all(b - a >= SLOW * 0.9 for a, b in itertools.pairwise(firsts))
    finally:
        for receiver in receivers:
            receiver.stop()
