"""Bounded results (issue 25): a tool result over the agent's limit reaches the model as
its first part, its size and a handle; read_result gives further pages; the run page
shows the whole result. Tested with a 2 MB provider answer."""

from __future__ import annotations

import json

import pytest

from agents import configuration
from agents.models import AgentStep, RunStatus
from connections.models import StoredResult
from connections.results import READ_RESULT
from tests.agents.test_runs import run_from_page, tool_messages
from tests.fakes.openai_server import call, reply

pytestmark = pytest.mark.django_db(transaction=True)

TWO_MB = 2 * 1024 * 1024


@pytest.fixture
def huge_item(boards):
    """A monday item whose name alone is 2 MB (the provider answers it whole)."""
    return boards.add_item(1001, "Q" * (TWO_MB - 1000) + "the end")


def read_next(request: dict) -> dict:
    """The model reads the page after the one it was just given."""
    given = json.loads(tool_messages(request)[-1]["content"])
    return call(READ_RESULT, handle=given["handle"], offset=given["next_offset"])


def test_a_2mb_result_reaches_the_model_in_parts_and_the_run_page_shows_it_whole(
    org, owner, alice, huge_item, model, member_client
):
    agent = configuration.create_agent(org=org, name="Reader", created_by=owner.user)
    assert agent.result_limit == 16 * 1024
    model.queue(call("monday_get_item", item_id=huge_item), read_next, reply("It is long."))
    run = run_from_page(member_client, agent, prompt="What is item X called?")
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.status_reason

    # Step 1: every tool definition; read_result only once a result was too large.
    assert READ_RESULT not in {t["function"]["name"] for t in model.requests[0]["tools"]}
    assert READ_RESULT in {t["function"]["name"] for t in model.requests[1]["tools"]}
    first = tool_messages(model.requests[1])[-1]["content"]
    assert len(first) <= agent.result_limit
    given = json.loads(first)
    assert given["result_truncated"] is True and given["total_chars"] > TWO_MB - 1000
    assert given["offset"] == 0 and given["part"].startswith('{"id"')
    # Step 2: the next page, from where the first ended, also within the limit.
    second_text = tool_messages(model.requests[2])[-1]["content"]
    second = json.loads(second_text)
    assert len(second_text) <= agent.result_limit
    assert second["offset"] == given["next_offset"]
    stored = StoredResult.objects.get()
    assert stored.content[second["offset"] : second["next_offset"]] == second["part"]
    assert given["part"] + second["part"] == stored.content[: second["next_offset"]]
    # What the model was given stays small in the run's conversation.
    assert max(len(m.get("content") or "") for m in run.messages) <= agent.result_limit

    step = run.steps.get(kind=AgentStep.Kind.TOOL, tool_name="monday_get_item")
    assert step.result_id == stored.pk and stored.identifier == alice.user.identifier
    page = member_client.get(f"/runs/{run.pk}/").content.decode()
    assert f"/runs/{run.pk}/steps/{step.index}/result/" in page
    whole = member_client.get(f"/runs/{run.pk}/steps/{step.index}/result/")
    assert whole.status_code == 200 and "the end" in whole.content.decode()


def test_a_handle_reads_only_the_callers_own_results(
    org, owner, alice, bob, huge_item, model, member_client, owner_client
):
    agent = configuration.create_agent(org=org, name="Reader", created_by=owner.user)
    model.queue(call("monday_get_item", item_id=huge_item), reply("Done."))
    run_from_page(member_client, agent, prompt="Read it")
    handle = str(StoredResult.objects.get().pk)
    # Bob's run (the owner's) asks for Alice's result by its handle: none for him.
    model.queue(call(READ_RESULT, handle=handle, offset=0), reply("Nothing."))
    other = run_from_page(owner_client, agent, prompt="Read hers")
    answer = json.loads(tool_messages(model.requests[-1])[-1]["content"])
    assert answer["error"]["code"] == "result_not_found"
    assert other.steps.filter(error_code="result_not_found").exists()


def test_a_result_under_the_limit_is_given_whole(org, owner, alice, boards, model, member_client):
    agent = configuration.create_agent(
        org=org, name="Small", created_by=owner.user, result_limit=1024
    )
    model.queue(call("monday_list_boards"), reply("Listed."))
    run_from_page(member_client, agent, prompt="Boards?")
    content = tool_messages(model.requests[1])[-1]["content"]
    assert "result_truncated" not in content and "Marketing" in content
    assert not StoredResult.objects.exists()
