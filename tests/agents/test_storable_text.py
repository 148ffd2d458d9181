"""DESIGN §12 rules 17 and 20: a model's answer may hold any text; the run is stored
with escapes instead of failing after the work was done (PostgreSQL refuses NUL)."""

from __future__ import annotations

import pytest

from agents.models import RunStatus
from tests.fakes.openai_server import call, reply
from tests.fixtures import signed_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_model_answer_with_nul_is_stored_escaped(org, agent, model, member):
    model.queue(reply("done\x00 \ud83d"))
    response = signed_in(member).post(f"/agents/{agent.pk}/", {"prompt": "hello"})
    assert response.status_code == 302
    run = agent.runs.get()
    assert run.status == RunStatus.SUCCEEDED, run.status_reason
    assert run.final_text == "done\\u0000 \\ud83d"


def test_tool_arguments_with_nul_are_refused_and_the_run_goes_on(org, alice, agent, model, monday):
    model.queue(call("monday_add_update", item_id=1, body="x\x00y"), reply("could not"))
    response = signed_in(alice).post(f"/agents/{agent.pk}/", {"prompt": "post it"})
    assert response.status_code == 302
    run = agent.runs.get()
    assert run.status == RunStatus.SUCCEEDED, run.status_reason
    step = run.steps.get(kind="tool")
    assert step.error_code == "invalid_params" and step.arguments["body"] == "x\\u0000y"
    assert "create_update" not in [r["operation"] for r in monday.api.api_requests]
