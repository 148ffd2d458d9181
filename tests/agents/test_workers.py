"""Agent runs on real worker processes: many at once, and finished by another worker when
the one driving them is killed (SIGKILL) mid-model-call or mid-write — never a duplicate
write. Needs PostgreSQL (and Redis for the production broker): see tests/worker_support.py.
"""

from __future__ import annotations

import threading
import time

import pytest

from agents.models import AgentRun, AgentStep, RunStatus
from tests.fakes.openai_server import call, reply
from tests.worker_support import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

RUN_AGENT = "agents.tasks.run_agent"


def tool_messages(request: dict) -> list[dict]:
    return [m for m in request["messages"] if m["role"] == "tool"]


def queued_run(agent, who, prompt: str) -> AgentRun:
    """A queued run, as start_run leaves it (its task message is sent by the test)."""
    return AgentRun.objects.create(
        organization=agent.organization,
        agent=agent,
        user=who.user,
        identifier=who.user.identifier,
        prompt=prompt,
    )


def finished(run: AgentRun) -> AgentRun | None:
    run.refresh_from_db()
    return run if run.is_finished else None


def created_named(boards, name: str) -> list[dict]:
    return [item for item in boards.items.values() if item["name"] == name]


def test_a_run_whose_worker_dies_mid_model_call_is_finished_by_another(
    workers, model, agent, alice, boards
):
    answer_held = threading.Event()
    release = threading.Event()

    def policy(request):
        if not tool_messages(request):
            return call("monday_create_item", board_id="1001", item_name="Crash test")
        if not answer_held.is_set():
            answer_held.set()
            release.wait(30)  # the worker that asked is killed while it waits for this
            return reply("(never read)")
        return reply("Created the item.")

    model.answer_with(policy)
    workers.start(2, beat=True)
    run = queued_run(agent, alice, "Create the item")
    workers.send(RUN_AGENT, str(run.pk))

    wait_for(answer_held.is_set, timeout=30)
    holder = workers.holding(run)
    holder.kill()
    killed_at = time.monotonic()
    run = wait_for(lambda: finished(run), timeout=60)
    resumed_after = time.monotonic() - killed_at
    release.set()

    assert run.status == RunStatus.SUCCEEDED, run.status_reason
    assert run.final_text == "Created the item."
    assert run.attempts == 2 and run.lease_owner == ""
    # Lease (3 s here) + resume job period (1 s) + the model's answer: well within 60 s.
    assert resumed_after < 15
    # The tool's result was stored before the worker died: it was not run again.
    assert len(created_named(boards, "Crash test")) == 1
    steps = [(s.kind, s.outcome) for s in run.steps.order_by("index")]
    assert steps == [
        (AgentStep.Kind.MODEL, AgentStep.Outcome.OK),
        (AgentStep.Kind.TOOL, AgentStep.Outcome.OK),
        (AgentStep.Kind.MODEL, AgentStep.Outcome.OK),
    ]


def test_a_write_cut_short_by_a_dead_worker_is_not_repeated(
    workers, model, agent, alice, boards, monday
):
    shown_to_model = []

    def policy(request):
        results = tool_messages(request)
        if not results:
            return call("monday_create_item", board_id="1001", item_name="Once only")
        shown_to_model.append(results[-1]["content"])
        return reply("I could not confirm it; please check the board.")

    model.answer_with(policy)
    write_arrived = threading.Event()
    monday.before_request = lambda method, path: path.startswith("/v2") and write_arrived.set()
    monday.api_delay = 3.0  # the write is slow: the worker dies while it waits
    workers.start(2, beat=True)
    run = queued_run(agent, alice, "Create the item once")
    workers.send(RUN_AGENT, str(run.pk))

    wait_for(write_arrived.is_set, timeout=30)
    monday.api_delay = 0.0
    workers.holding(run).kill()
    run = wait_for(lambda: finished(run), timeout=60)
    # The provider finishes the write the dead worker started: exactly one item.
    wait_for(lambda: created_named(boards, "Once only"), timeout=10)

    assert run.status == RunStatus.SUCCEEDED, run.status_reason
    assert len(created_named(boards, "Once only")) == 1
    writes = [r for r in boards.api_requests if r["operation"] == "create_item"]
    assert len(writes) == 1, "the write was sent again"
    tool_step = run.steps.get(kind=AgentStep.Kind.TOOL)
    assert tool_step.outcome == AgentStep.Outcome.UNKNOWN
    assert tool_step.error_code == "outcome_unknown"
    assert shown_to_model and "outcome_unknown" in shown_to_model[0]


def test_a_read_cut_short_by_a_dead_worker_is_run_again(
    workers, model, agent, alice, boards, monday
):
    def policy(request):
        results = tool_messages(request)
        if not results:
            return call("monday_list_boards")
        return reply(
            "You have the Marketing board." if "Marketing" in results[-1]["content"] else "?"
        )

    model.answer_with(policy)
    read_arrived = threading.Event()
    monday.before_request = lambda method, path: path.startswith("/v2") and read_arrived.set()
    monday.api_delay = 3.0
    workers.start(2, beat=True)
    run = queued_run(agent, alice, "Which boards?")
    workers.send(RUN_AGENT, str(run.pk))

    wait_for(read_arrived.is_set, timeout=30)
    monday.api_delay = 0.0
    workers.holding(run).kill()
    run = wait_for(lambda: finished(run), timeout=60)

    assert run.status == RunStatus.SUCCEEDED and run.final_text == "You have the Marketing board."
    assert run.steps.get(kind=AgentStep.Kind.TOOL).outcome == AgentStep.Outcome.OK
    reads = [r for r in boards.api_requests if r["operation"] == "boards"]
    assert len(reads) == 2  # the dead worker's, and the retry


def test_the_make_run_worker_drives_two_runs_at_once(
    local_workers, model, agent, alice, boards, member_client
):
    """`make run`'s configuration (folder broker, no Redis): both runs progress together."""

    def policy(request):
        time.sleep(1.0)
        return reply("done") if len(request["messages"]) > 3 else call("monday_get_me")

    model.answer_with(policy)
    local_workers.start(1)
    runs = [queued_run(agent, alice, f"Run {n}") for n in (1, 2)]
    started = time.monotonic()
    for run in runs:
        local_workers.send(RUN_AGENT, str(run.pk))

    # Midway, both runs are running and have recorded steps (each page shows them live).
    wait_for(
        lambda: all(
            AgentRun.objects.get(pk=r.pk).status == RunStatus.RUNNING and r.steps.exists()
            for r in runs
        ),
        timeout=30,
    )
    page = member_client.get(f"/runs/{runs[0].pk}/").content.decode()
    assert 'hx-trigger="every 1s"' in page  # the page polls while the run works
    done = [wait_for(lambda r=r: finished(r), timeout=30) for r in runs]
    elapsed = time.monotonic() - started

    assert [r.status for r in done] == [RunStatus.SUCCEEDED] * 2
    # Each run waits 2 s on the model; one after the other would take 4 s or more.
    assert elapsed < 3.8, elapsed
