"""The embedded broker's soak (issue 24), shared by tests/operations/test_embedded_broker.py
(short, in CI) and bench.broker_soak (long): agent runs that each make one write in the
sandbox, with their `agent_run.finished` webhooks, while the worker is SIGKILLed and
restarted — then what was lost and what was done twice."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from agents import configuration as agent_configuration
from agents.models import AgentRun, AgentStep
from portal.callers import Caller
from sandbox import setup, worlds
from sandbox.models import SandboxWorld
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.fixtures import signed_in
from tests.sandbox.sandbox_support import connect_sandbox
from tests.worker_support import Workers, wait_for
from webhooks.endpoints import create_endpoint

RUN_AGENT = "agents.tasks.run_agent"
FAST_RECOVERY = {
    "RUN_REQUEUE_AFTER_SECONDS": "4",
    "WEBHOOK_RETRY_SCHEDULE": "1,1,1,1",
    "WEBHOOK_DISPATCH_EVERY_SECONDS": "1",
}


@dataclass
class SoakResult:
    runs: int
    kills: int
    seconds: float  # from the first message sent to the last delivery received
    runs_lost: int  # never finished
    deliveries_lost: int  # finished runs whose webhook never arrived
    writes_twice: int  # items created more than once
    writes_unknown: int  # writes cut mid-call (outcome unknown, never sent again)
    writes_done: int
    duplicate_deliveries: int  # at-least-once: a sender killed mid-send sends again


def _delivered(receiver: WebhookReceiver) -> list[str]:
    ids = []
    for body in receiver.bodies():
        try:
            ids.append(json.loads(body)["data"]["run"]["id"])
        except (ValueError, KeyError, TypeError):
            continue
    return ids


def soak(
    workers: Workers, org: Any, owner: Any, *, runs: int, kills: int, kill_every: float = 1.5
) -> SoakResult:
    connection = setup.add_sandbox_connection(caller=Caller.of_member(owner), provider="monday")
    connect_sandbox(signed_in(owner), connection.name)
    agent = agent_configuration.create_agent(org=org, name="Soak", sandbox_model=True)
    with WebhookReceiver() as receiver:
        create_endpoint(
            caller=Caller.of_member(owner), url=receiver.url, event_types=["agent_run.finished"]
        )
        queued = [
            AgentRun.objects.create(
                organization=org,
                agent=agent,
                user=owner.user,
                identifier=owner.user.identifier,
                prompt=f'call monday_create_item {{"board_id": "4001", "item_name": "soak-{n}"}}',
            )
            for n in range(runs)
        ]
        worker = workers.start(1, beat=True, concurrency=8, **FAST_RECOVERY)[0]
        started = time.monotonic()
        for run in queued:
            workers.send(RUN_AGENT, str(run.pk))
        for _ in range(kills):
            time.sleep(kill_every)
            worker.kill()
            worker = workers.start(1, beat=True, concurrency=8, **FAST_RECOVERY)[0]
        ids = [r.pk for r in queued]

        def all_finished() -> bool:
            return not AgentRun.objects.filter(pk__in=ids, finished_at=None).exists()

        wait_for(all_finished, timeout=60 + runs / 5, step=0.5)
        expected = {str(pk) for pk in ids}
        wait_for(lambda: expected <= set(_delivered(receiver)), timeout=60 + runs / 5, step=0.5)
        seconds = time.monotonic() - started
        delivered = _delivered(receiver)
    items = worlds.read_world(SandboxWorld.objects.get(connection=connection)).api.items
    names = [i["name"] for i in items.values() if i["name"].startswith("soak-")]
    return SoakResult(
        runs=runs,
        kills=kills,
        seconds=seconds,
        runs_lost=AgentRun.objects.filter(pk__in=ids, finished_at=None).count(),
        deliveries_lost=len(expected - set(delivered)),
        writes_twice=len(names) - len(set(names)),
        writes_unknown=AgentStep.objects.filter(
            run__in=ids, kind=AgentStep.Kind.TOOL, outcome=AgentStep.Outcome.UNKNOWN
        ).count(),
        writes_done=len(set(names)),
        duplicate_deliveries=len(delivered) - len(set(delivered)),
    )
