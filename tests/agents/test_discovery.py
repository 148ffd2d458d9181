"""Discovery mode (issue 25): the model gets three meta-tools instead of every definition,
finds a tool by what it wants to do and calls it — with the same allow-list, validation,
approval and record as a direct call."""

from __future__ import annotations

import json

import pytest

from agents import configuration
from agents.models import Agent, AgentRun, AgentStep, RunStatus
from audit.models import AuditEvent
from connections.discovery import DISCOVERY_TOOLS
from tests.agent_support import decision
from tests.fakes.openai_server import call, calls, reply

pytestmark = pytest.mark.django_db(transaction=True)


def start(client, agent, prompt: str) -> AgentRun:
    response = client.post(f"/agents/{agent.pk}/", {"prompt": prompt})
    assert response.status_code == 302, response.content.decode()[:500]
    return AgentRun.objects.get(pk=response["Location"].rstrip("/").split("/")[-1])


def test_a_run_finds_a_tool_it_was_never_listed_and_its_write_still_waits_for_approval(
    org, owner, alice, boards, model, member_client, monday
):
    agent = configuration.create_agent(
        org=org,
        name="Finder",
        tool_mode=Agent.ToolMode.DISCOVERY,
        approval_policy=Agent.Approval.ALWAYS,
    )
    model.queue(
        call("search_tools", query="add an item to a monday board", limit=3),
        calls(
            (
                "call_tool",
                {
                    "name": "monday_create_item",
                    "arguments": json.dumps({"board_id": "1001", "item_name": "Found by search"}),
                },
            )
        ),
        reply("Added it."),
    )
    run = start(member_client, agent, "Add 'Found by search' to Marketing")
    run.refresh_from_db()
    # Offered: the three meta-tools only, never the 12 monday definitions.
    offered = {t["function"]["name"] for t in model.requests[0]["tools"]}
    assert offered == {t["function"]["name"] for t in DISCOVERY_TOOLS}
    searched = json.loads(model.requests[1]["messages"][-1]["content"])
    assert searched["results"][0]["name"] == "monday_create_item"
    # The write found by search waits for approval, shown as the real tool and arguments.
    assert run.status == RunStatus.AWAITING_APPROVAL
    page = member_client.get(f"/runs/{run.pk}/").content.decode()
    assert "monday_create_item" in page and "Found by search" in page
    assert not [i for i in boards.items.values() if i["name"] == "Found by search"]
    member_client.post(f"/runs/{run.pk}/approve/", decision(run))
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.status_reason
    assert [i["name"] for i in boards.items.values() if i["name"] == "Found by search"]
    step = run.steps.get(kind=AgentStep.Kind.TOOL, tool_name="monday_create_item")
    assert step.outcome == AgentStep.Outcome.OK
    assert AuditEvent.objects.filter(
        action="tool.executed", target_id="monday_create_item"
    ).exists()


def test_call_tool_cannot_reach_past_the_agents_allow_list(
    org, owner, alice, boards, model, member_client
):
    agent = configuration.create_agent(
        org=org,
        name="Narrow",
        tool_mode=Agent.ToolMode.DISCOVERY,
        allowed_tools=["monday_list_boards"],
    )
    model.queue(
        calls(
            (
                "call_tool",
                {"name": "monday_delete_item", "arguments": json.dumps({"item_id": "1"})},
            )
        ),
        reply("Could not."),
    )
    run = start(member_client, agent, "Delete item 1")
    run.refresh_from_db()
    refused = json.loads(model.requests[1]["messages"][-1]["content"])
    assert refused["error"]["code"] == "tool_not_available"
    assert run.steps.filter(kind=AgentStep.Kind.TOOL, tool_name="monday_delete_item").exists()
    searched = model.requests[0]["tools"]
    assert len(searched) == 3


def test_auto_mode_offers_every_tool_under_the_threshold(
    org, owner, alice, boards, model, member_client
):
    agent = configuration.create_agent(org=org, name="Auto")  # tool_mode auto, 12 tools
    model.queue(reply("Hello."))
    start(member_client, agent, "hi")
    assert len(model.requests[0]["tools"]) == 12
