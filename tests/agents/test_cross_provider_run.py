"""One agent run, two providers, one user: read a GitHub issue and post it to Slack,
each with that user's own account; the Slack write waits for the user's approval."""

from __future__ import annotations

import json

import pytest

from agents.models import AgentRun, RunStatus
from tests.agent_support import decision
from tests.fakes.openai_server import call, calls, reply
from tests.fixtures import signed_in

pytestmark = pytest.mark.django_db(transaction=True)


def seed_github(github):
    github.add_user("u-1", "Alice Martin", "alice@acme.test", login="alice")
    github.add_repo("acme/website", members=["alice"])
    github.add_issue("acme/website", "Checkout is down", author="alice", body="500 on pay")


def seed_slack(slack):
    slack.add_channel("C1", "incidents", members=["u-1"])


def test_a_github_issue_is_posted_to_slack_after_approval(provider_world, agent, model, member):
    github = provider_world("github", prepare=seed_github)
    slack = provider_world("slack", prepare=seed_slack)
    agent.approval_policy = "always"
    agent.save()
    model.queue(
        call("github_get_issue", repo="acme/website", number=1),
        call("slack_post_message", channel="#incidents", text="Checkout is down: 500 on pay"),
        reply("Posted the issue to #incidents."),
    )
    client = signed_in(member)
    client.post(f"/agents/{agent.pk}/", {"prompt": "Post issue 1 to #incidents"})
    run = AgentRun.objects.get()
    assert run.status == RunStatus.AWAITING_APPROVAL, run.status_reason
    offered = {t["function"]["name"] for t in model.requests[0]["tools"]}
    assert {"github_get_issue", "slack_post_message"} <= offered
    assert slack.emulator.channels["C1"]["messages"] == []  # nothing before approval

    assert client.post(f"/runs/{run.pk}/approve/", decision(run)).status_code == 302
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.status_reason
    posted = slack.emulator.channels["C1"]["messages"]
    assert [(m["user"], m["text"]) for m in posted] == [("u-1", "Checkout is down: 500 on pay")]
    tools_used = [s.tool_name for s in run.steps.filter(kind="tool").order_by("index")]
    assert tools_used == ["github_get_issue", "slack_post_message"]
    assert github.emulator.api_log[-1]["path"] == "/repos/acme/website/issues/1"


def test_in_discovery_mode_the_run_finds_both_tools_it_was_never_listed(
    provider_world, agent, model, member
):
    provider_world("github", prepare=seed_github)
    slack = provider_world("slack", prepare=seed_slack)
    agent.approval_policy = "always"
    agent.tool_mode = "discovery"
    agent.save()
    issue = {"repo": "acme/website", "number": 1}
    post = {"channel": "#incidents", "text": "Checkout is down: 500 on pay"}
    model.queue(
        call("search_tools", query="read a github issue", limit=3),
        calls(("call_tool", {"name": "github_get_issue", "arguments": json.dumps(issue)})),
        call("search_tools", query="post a message to a slack channel", limit=3),
        calls(("call_tool", {"name": "slack_post_message", "arguments": json.dumps(post)})),
        reply("Posted."),
    )
    client = signed_in(member)
    client.post(f"/agents/{agent.pk}/", {"prompt": "Post issue 1 to #incidents"})
    run = AgentRun.objects.get()
    offered = {t["function"]["name"] for t in model.requests[0]["tools"]}
    assert offered == {"search_tools", "describe_tool", "call_tool"}
    found = json.loads(model.requests[1]["messages"][-1]["content"])["results"]
    assert found[0]["name"] == "github_get_issue"
    found = json.loads(model.requests[3]["messages"][-1]["content"])["results"]
    assert found[0]["name"] == "slack_post_message"
    # The write found by search waits for the same approval, as the real tool.
    assert run.status == RunStatus.AWAITING_APPROVAL, run.status_reason
    assert slack.emulator.channels["C1"]["messages"] == []
    client.post(f"/runs/{run.pk}/approve/", decision(run))
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.status_reason
    assert [m["text"] for m in slack.emulator.channels["C1"]["messages"]] == [post["text"]]
    tools_used = [s.tool_name for s in run.steps.filter(kind="tool").order_by("index")]
    assert tools_used == ["search_tools", "github_get_issue", "search_tools", "slack_post_message"]
