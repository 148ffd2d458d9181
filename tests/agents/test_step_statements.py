"""What an agent step costs the database, counted (bench.agent_overhead times it; these
counts do not vary with the machine). Measured as differences between whole runs that
differ by one step, so the run's start and end are left out:

- a tool step (a read): the account lookup (read ahead, core/db.read_ahead, when the
  call is a message's first), then the step with the conversation and
  the call's audit event with its usage row (the event carried by the step's statement,
  audit/trail.Carried), one statement that commits itself: 2 statements, 2 round trips,
  1 commit;
- a model step: the step, the conversation and the token count in one statement that
  commits itself: 1 statement, 1 round trip, 1 commit (agents/leases.save_with_step)."""

from __future__ import annotations

import pytest

from agents import runs
from agents.models import RunStatus
from portal.callers import Caller
from tests.fakes.openai_server import call, calls, reply
from tests.statements import counted

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]

ME = ("monday_get_me", {})


class Costs(tuple):
    def __sub__(self, other):
        return tuple(a - b for a, b in zip(self, other, strict=True))


def costs(tally) -> Costs:
    return Costs((len(tally.statements), tally.round_trips, tally.commits))


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

    tool_step = costs(two_tools) - costs(one)
    model_step = costs(two_models) - costs(two_tools)
    print("tool step:", tool_step, "model step:", model_step, "(statements, round trips, commits)")
    assert tool_step == (2, 2, 1), two_tools.statements[len(one.statements) :]
    assert model_step == (1, 1, 1)
    every = one.statements + two_tools.statements + two_models.statements
    assert not any("auditchain" in sql.lower() for sql in every)  # no shared row per step
