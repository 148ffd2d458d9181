"""A read tool call's audit event is carried by its step's statement (audit/trail.Carried,
agents/leases.save_with_step): one round trip and one commit less per tool step. Carried,
it is still written exactly once whatever happens to its carrier: with the step; with the
statement even when the lease turned out lost (no step then); on its own when the
statement failed; and not carried at all when something follows it (a webhook outbox),
which must be written in its transaction. The step of a message's last tool call is also
sent ahead of the next model request (core/db.send_ahead): that request leaves only once
the step and its event are on disk, and never when the step was refused or its lease
lost. The step of a model message asking for a read is held and sent once the read's
account is looked up, running while the read's request is out: a lease lost by then
stops the run once the read is back (audited, its result never stored nor shown)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from agents import runs
from agents.models import AgentRun, AgentStep, RunStatus
from audit import trail
from audit.models import AuditEvent
from audit.signals import follow_events, unfollow_events
from core.models import TaskFailure
from portal.callers import Caller
from tests.fakes.openai_server import call, reply

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]


def start(agent, alice, model):
    model.queue(call("monday_get_me"), reply("Done."))
    run = runs.start_run(agent=agent, prompt="Who am I?", caller=Caller.of_member(alice))
    return AgentRun.objects.get(pk=run.pk)


def executed_events():
    return AuditEvent.objects.filter(action="tool.executed", target_id="monday_get_me")


def test_the_event_is_written_with_the_step_in_one_commit(alice, agent, model):
    run = start(agent, alice, model)
    assert run.status == RunStatus.SUCCEEDED, run.status_reason
    step = run.steps.get(kind=AgentStep.Kind.TOOL)
    event = executed_events().get()
    assert event.outcome == AuditEvent.Outcome.SUCCESS
    assert event.metadata["execution_id"] == step.execution_id
    assert event.metadata["run_id"] == str(run.pk)
    assert event.content_hash  # hashed as any event is; the sequencer chains it later


def test_a_lost_lease_still_writes_the_event_once_and_no_step(alice, agent, model, monday):
    def take_over(method, path):  # another worker took the run while the read was out
        AgentRun.objects.update(lease_owner="elsewhere:1")

    monday.before_request = take_over
    run = start(agent, alice, model)
    assert run.lease_owner == "elsewhere:1"
    assert not run.steps.filter(kind=AgentStep.Kind.TOOL).exists()
    assert executed_events().count() == 1
    assert len(model.requests) == 1  # the worker stopped before asking the model again


def test_a_lease_lost_while_the_model_thought_stops_the_run_after_the_read(
    alice, agent, model, monday
):
    def answer(request):  # another worker takes the run over meanwhile (its own connection)
        try:
            AgentRun.objects.update(lease_owner="elsewhere:1")
        finally:
            connection.close()
        return call("monday_get_me")

    model.queue(answer, reply("Done."))
    run = runs.start_run(agent=agent, prompt="Who am I?", caller=Caller.of_member(alice))
    run = AgentRun.objects.get(pk=run.pk)
    assert run.lease_owner == "elsewhere:1"
    assert not run.steps.exists()  # neither the model's step nor the read's
    assert [r["operation"] for r in monday.api.api_requests] == ["me"]  # it was out already
    assert executed_events().count() == 1  # and audited once, on its own
    assert len(model.requests) == 1


@pytest.fixture
def refused_tool_steps():
    """The database refuses to store a tool step (a fault in the carrier statement)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION refuse_tool_step() RETURNS trigger AS $$ BEGIN "
            "IF NEW.kind = 'tool' THEN RAISE EXCEPTION 'tool steps refused'; END IF; "
            "RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            "CREATE TRIGGER refuse_tool_step BEFORE INSERT ON agents_agentstep "
            "FOR EACH ROW EXECUTE FUNCTION refuse_tool_step()"
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER refuse_tool_step ON agents_agentstep")
        cursor.execute("DROP FUNCTION refuse_tool_step()")


def test_when_the_carrier_fails_the_event_is_written_on_its_own(
    alice, agent, model, refused_tool_steps
):
    run = start(agent, alice, model)
    assert run.status == RunStatus.FAILED
    assert "internal error" in run.status_reason
    event = executed_events().get()
    assert event.outcome == AuditEvent.Outcome.SUCCESS  # the call did happen
    assert len(model.requests) == 1  # the result never reached the model


def test_the_model_sees_a_result_only_once_its_step_and_event_are_on_disk(alice, agent, model):
    seen = []

    def answer(request):  # runs in the model server's thread, on its own connection
        try:
            seen.append(
                (
                    AgentStep.objects.filter(kind=AgentStep.Kind.TOOL).count(),
                    executed_events().count(),
                )
            )
        finally:
            connection.close()
        return reply("Done.")

    model.queue(call("monday_get_me"), answer)
    run = runs.start_run(agent=agent, prompt="Who am I?", caller=Caller.of_member(alice))
    assert AgentRun.objects.get(pk=run.pk).status == RunStatus.SUCCEEDED
    assert seen == [(1, 1)]


def test_an_event_someone_follows_is_written_with_its_follower_not_carried(alice, agent, model):
    def follow(event):
        if event.action != "tool.executed":
            return None
        return lambda: TaskFailure.objects.create(task="follower", error=str(event.pk))

    follow_events(follow)
    try:
        run = start(agent, alice, model)
    finally:
        unfollow_events(follow)
    assert run.status == RunStatus.SUCCEEDED, run.status_reason
    event = executed_events().get()
    assert TaskFailure.objects.get(task="follower").error == str(event.pk)


def test_left_over_events_are_written_when_the_block_ends(org):
    with trail.Carried() as carried:
        trail.record(action="test.carried", organization=org, carried=carried)
        assert not AuditEvent.objects.filter(action="test.carried").exists()
    assert AuditEvent.objects.filter(action="test.carried").count() == 1

    with pytest.raises(RuntimeError), trail.Carried() as carried:
        trail.record(action="test.carried", organization=org, carried=carried)
        raise RuntimeError("the carrier never ran")
    assert AuditEvent.objects.filter(action="test.carried").count() == 2


def test_inside_a_transaction_an_event_is_not_carried(org):
    with trail.Carried() as carried, transaction.atomic():
        trail.record(action="test.carried", organization=org, carried=carried)
        assert not carried.statements()
        assert AuditEvent.objects.filter(action="test.carried").exists()
