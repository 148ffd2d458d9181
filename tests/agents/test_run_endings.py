"""How a run ends is written only by whoever still may: a member's removal ends their
runs without overwriting a worker's later progress, and a worker whose run was ended
elsewhere neither finishes it again nor saves over it."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from agents import leases, runner, runs
from agents.models import AgentRun, RunStatus
from audit.models import AuditEvent
from portal.callers import Caller
from tests.factories import AgentFactory, AgentRunFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def driven_run(org, member):
    """A run this process drives (it holds the lease, as a worker would)."""
    run = AgentRunFactory(
        agent=AgentFactory(organization=org),
        user=member.user,
        status=RunStatus.RUNNING,
        lease_owner=leases.ME,
        messages=[{"role": "user", "content": "hi"}],
    )
    return AgentRun.objects.select_related("agent", "organization").get(pk=run.pk)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_removal_ends_the_run_without_writing_over_the_workers_progress(
    org, owner, member, driven_run
):
    """The worker saves a step while the removal waits for the run's row: the removal
    then ends the run as the worker left it (not as the removal first read it)."""
    progressed = [*driven_run.messages, {"role": "assistant", "content": "working"}]
    worker_has_the_row, removal = threading.Event(), []

    def worker_saves_a_step():
        with transaction.atomic():
            AgentRun.objects.select_for_update().get(pk=driven_run.pk)
            worker_has_the_row.set()
            time.sleep(0.5)  # the removal reads the run meanwhile, then waits for the lock
            AgentRun.objects.filter(pk=driven_run.pk).update(messages=progressed, model_calls=3)
        connection.close()

    def remove_member():
        worker_has_the_row.wait(5)
        removal.append(
            runs.end_runs_of_removed_member(
                organization=org, user=member.user, caller=Caller.of_member(owner)
            )
        )
        connection.close()

    threads = [threading.Thread(target=worker_saves_a_step), threading.Thread(target=remove_member)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    stored = AgentRun.objects.get(pk=driven_run.pk)
    assert removal == [1] and stored.status == RunStatus.FAILED
    assert stored.messages == progressed and stored.model_calls == 3
    assert stored.lease_owner == ""


def test_a_worker_whose_run_was_ended_elsewhere_neither_finishes_nor_saves_it(
    org, owner, member, driven_run
):
    worker_copy = driven_run
    runs.end_runs_of_removed_member(
        organization=org, user=member.user, caller=Caller.of_member(owner)
    )

    runner.end(worker_copy, RunStatus.SUCCEEDED, final_text="All done.")
    with pytest.raises(leases.LeaseLost):
        leases.save(worker_copy, "messages")

    stored = AgentRun.objects.get(pk=worker_copy.pk)
    assert stored.status == RunStatus.FAILED and stored.final_text == ""
    finished = AuditEvent.objects.filter(action="agent_run.finished", target_id=str(stored.pk))
    assert finished.count() == 1
