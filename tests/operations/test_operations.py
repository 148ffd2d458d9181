"""Background work as operators see and steer it: the operations page (staff only), periodic
jobs that never run twice at once, and runs that end at their wall-clock limit."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from agents.models import AgentRun, RunStatus
from core import jobs
from core.models import PeriodicJob, TaskFailure, WorkerHeartbeat
from tests.fakes.openai_server import call
from tests.fixtures import signed_in


def test_the_operations_page_is_for_staff_only(client, member, owner):
    assert client.get("/ops/").status_code == 302  # to sign in
    assert signed_in(member).get("/ops/").status_code == 404
    assert signed_in(owner).get("/ops/").status_code == 404  # an org owner is not an operator


def test_operators_see_workers_runs_in_flight_jobs_and_failures(owner, agent):
    owner.user.is_staff = True
    owner.user.save()
    now = timezone.now()
    WorkerHeartbeat.objects.create(
        worker_id="web-1:4242",
        hostname="web-1",
        pid=4242,
        started_at=now,
        last_seen=now,
        concurrency=50,
    )
    AgentRun.objects.create(
        organization=agent.organization,
        agent=agent,
        identifier="x",
        prompt="secret prompt",
        status=RunStatus.RUNNING,
        lease_owner="web-1:4242",
        lease_expires_at=now,
    )
    AgentRun.objects.create(
        organization=agent.organization,
        agent=agent,
        identifier="x",
        prompt="p",
    )
    jobs.exclusive("prune_audit", lambda: {"deleted": 7})
    TaskFailure.objects.create(task="connections.tasks.refresh_accounts", error="Boom: x")

    page = signed_in(owner).get("/ops/").content.decode()

    assert "web-1:4242" in page and "alive" in page
    assert "prune_audit" in page and "deleted 7" in page
    assert "refresh_due_tokens" in page and "never" in page  # configured, not run yet
    assert "connections.tasks.refresh_accounts" in page and "Boom: x" in page
    assert "runs queued, oldest" in page
    assert "secret prompt" not in page  # counts, not tenants' data
    fragment = signed_in(owner).get("/ops/", HTTP_HX_REQUEST="true").content.decode()
    assert fragment.startswith('<div id="operations"')


def test_a_job_runs_once_at_a_time_and_records_how_it_went(db):
    assert jobs.exclusive("prune_audit", lambda: {"deleted": 3}) == {"deleted": 3}
    with pytest.raises(ValueError):
        jobs.exclusive("prune_audit", _fail)
    job = PeriodicJob.objects.get(name="prune_audit")
    assert job.runs == 2 and job.last_outcome == "failed" and "ValueError" in job.last_error
    assert job.running_since is None and job.last_duration_ms is not None


def _fail():
    raise ValueError("broken")


@pytest.mark.django_db(transaction=True)
def test_a_second_scheduler_skips_a_job_that_is_running():
    inside, release, results = threading.Event(), threading.Event(), []

    def slow():
        inside.set()
        release.wait(10)
        return {"done": 1}

    def first():
        results.append(jobs.exclusive("refresh_due_tokens", slow))
        connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    inside.wait(10)
    skipped = jobs.exclusive("refresh_due_tokens", lambda: {"done": 2})
    release.set()
    thread.join()

    assert skipped is None and results == [{"done": 1}]
    job = PeriodicJob.objects.get(name="refresh_due_tokens")
    assert job.runs == 1 and job.skipped == 1


def test_a_claim_left_by_a_dead_worker_goes_stale(db, settings):
    long_ago = timezone.now() - timedelta(minutes=10)
    PeriodicJob.objects.create(name="resume_stalled_runs", running_since=long_ago)
    # resume_stalled_runs runs every 15 s: a claim older than a minute is a dead worker's.
    assert jobs.exclusive("resume_stalled_runs", lambda: {"resumed": 0}) == {"resumed": 0}


@pytest.mark.django_db(transaction=True)
def test_a_run_past_its_wall_clock_limit_fails_saying_so(
    settings, org, alice, agent, model, member_client
):
    settings.RUN_WALL_CLOCK_LIMIT_SECONDS = 0.5
    model.delay = 0.3
    model.queue(*[call("monday_get_me") for _ in range(5)])

    response = member_client.post(f"/agents/{agent.pk}/", {"prompt": "Loop"})
    run = AgentRun.objects.get(pk=response["Location"].rstrip("/").split("/")[-1])

    assert run.status == RunStatus.FAILED
    assert run.status_reason.startswith("wall_clock:")
    assert run.model_calls < 5 and run.lease_owner == ""


def test_stalled_runs_are_handed_out_again(settings, org, alice, agent, model):
    from agents import tasks
    from tests.fakes.openai_server import reply

    model.queue(reply("Resumed and done."))
    past = timezone.now() - timedelta(minutes=5)
    run = AgentRun.objects.create(
        organization=org,
        agent=agent,
        user=alice.user,
        identifier=alice.user.identifier,
        prompt="hi",
        status=RunStatus.RUNNING,
        lease_owner="dead:1",
        lease_expires_at=past,
        started_at=past,
    )
    started = time.monotonic()

    assert tasks.resume_stalled_runs() == {"resumed": 1}

    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.final_text == "Resumed and done."
    assert run.attempts == 1 and time.monotonic() - started < 5


def test_every_page_says_when_background_work_is_stopped(owner_client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # as in production: work waits on a worker
    for path in ("/", "/runs/", "/agents/", "/webhooks/"):
        page = owner_client.get(path).content.decode()
        assert "Background work is stopped" in page, path
    now = timezone.now()
    WorkerHeartbeat.objects.create(
        worker_id="w:1", hostname="w", pid=1, started_at=now, last_seen=now
    )
    assert "Background work is stopped" not in owner_client.get("/").content.decode()
