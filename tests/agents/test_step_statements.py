"""What an agent step costs the database, counted (bench.agent_overhead times it; these
counts do not vary with the machine). Measured as differences between whole runs that
differ by one step, so the run's start and end are left out:

- a tool step (a read): the account lookup, the call's audit event with its usage row
  (one statement, one commit), then the step with the conversation (one commit);
- a model step: the step, the conversation and the token count, in one commit."""

from __future__ import annotations

import pytest

from agents import runs
from agents.models import RunStatus
from portal.callers import Caller
from tests.fakes.openai_server import call, calls, reply
from tests.statements import counted

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]

ME = ("monday_get_me", {})


def run_counted(agent, alice, model, *script):
    model.queue(*script)
    caller = Caller.of_member(alice)
    with counted() as tally:
        run = runs.start_run(agent=agent, prompt="Who am I?", caller=caller)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.status_reason
    return tally


def test_a_tool_step_and_a_model_step_cost_a_fixed_number_of_statements(alice, agent, model):
    run_counted(agent, alice, model, call(*ME[:1]), reply("Warm."))  # caches, last-used time
    one = run_counted(agent, alice, model, calls(ME), reply("Done."))
    two_tools = run_counted(agent, alice, model, calls(ME, ME), reply("Done."))
    two_models = run_counted(agent, alice, model, calls(ME), calls(ME), reply("Done."))

    tool_step = (
        len(two_tools.statements) - len(one.statements),
        two_tools.commits - one.commits,
    )
    model_step = (
        len(two_models.statements) - len(two_tools.statements),
        two_models.commits - two_tools.commits,
    )
    print("tool step:", tool_step, "model step:", model_step, "(statements, commits)")
    assert tool_step == (4, 2), two_tools.statements[len(one.statements) :]
    assert model_step == (3, 1)
    every = one.statements + two_tools.statements + two_models.statements
    assert not any("auditchain" in sql.lower() for sql in every)  # no shared row per step
