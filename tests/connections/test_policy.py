"""The organization's tool-call policy (issue 26, part): rules decided before the provider
is called, on every path that runs a tool — REST execute, agent runs, MCP and the
discovery meta-tools — audited with the rule that decided."""

from __future__ import annotations

import json

import pytest

from audit.models import AuditEvent
from connections import policy, tools
from tests.callers import as_identifier, as_member
from tests.fakes.openai_server import call, reply
from tests.mcp_support import bearer, use_tools


def rule(api, **fields) -> dict:
    made = api.post("/api/v1/policy-rules", fields, format="json")
    assert made.status_code == 201, made.content
    return made.json()


def execute(api, who, name: str, **params):
    return api.post(
        "/api/v1/tools/execute",
        {"identifier": who.user.identifier, "tool_name": name, "params": params},
        format="json",
    )


def listed(api, who) -> set[str]:
    answer = api.get("/api/v1/tools", {"identifier": who.user.identifier})
    return {t["name"] for t in answer.json()["results"]}


def test_a_deny_rule_refuses_the_call_hides_the_tool_and_is_audited(api, alice, boards):
    made = rule(
        api,
        name="No new items",
        tools=["monday_create_*"],
        effect="deny",
        message="Items are created by the PMO.",
    )
    refused = execute(api, alice, "monday_create_item", board_id="1001", item_name="Nope")
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "policy_denied" and error["message"] == "Items are created by the PMO."
    assert error["details"]["rule_id"] == made["id"]
    assert not [i for i in boards.items.values() if i["name"] == "Nope"]
    event = AuditEvent.objects.filter(action="tool.executed").latest("created_at")
    assert (
        event.metadata["policy_rule"] == made["id"] and event.metadata["error"] == "policy_denied"
    )
    assert "monday_create_item" not in listed(api, alice) and "monday_list_boards" in listed(
        api, alice
    )


def test_conditions_on_arguments_decide_per_call_and_first_match_wins(api, alice, boards):
    rule(
        api,
        name="Nothing secret",
        position=1,
        tools=["monday_create_item"],
        conditions=[{"path": "$.item_name", "op": "regex", "value": "(?i)secret"}],
        effect="deny",
    )
    rule(api, name="Allow the rest", position=2, providers=["monday"], effect="allow")
    rule(api, name="Never reached", position=3, providers=["monday"], effect="deny")
    assert "monday_create_item" in listed(api, alice)  # some calls of it are allowed
    assert (
        execute(
            api, alice, "monday_create_item", board_id="1001", item_name="Top SECRET plan"
        ).status_code
        == 403
    )
    fine = execute(api, alice, "monday_create_item", board_id="1001", item_name="Launch plan v2")
    assert fine.status_code == 200, fine.content
    event = AuditEvent.objects.filter(action="tool.executed", outcome="success").latest(
        "created_at"
    )
    assert (
        event.metadata["policy_rule"] == api.get("/api/v1/policy-rules").json()["results"][1]["id"]
    )


def test_a_limit_rule_answers_429_with_retry_after(api, alice, boards):
    rule(
        api,
        name="Two a minute",
        tools=["monday_get_me"],
        effect="limit",
        limit_count=2,
        limit_window_seconds=60,
    )
    assert [execute(api, alice, "monday_get_me").status_code for _ in range(2)] == [200, 200]
    third = execute(api, alice, "monday_get_me")
    assert third.status_code == 429 and third.json()["error"]["code"] == "policy_limited"
    assert 1 <= int(third["Retry-After"]) <= 60


@pytest.mark.django_db(transaction=True)
def test_agent_runs_follow_the_rules_for_agents(
    api, org, alice, boards, model, member_client, agent
):
    from tests.agents.test_runs import run_from_page, tool_messages

    rule(api, name="Agents read only", vias=["agent"], access="write", effect="deny")
    rule(
        api,
        name="Not that board",
        vias=["agent"],
        tools=["monday_list_items"],
        conditions=[{"path": "$.board_id", "op": "in", "value": ["1001"]}],
        effect="deny",
    )
    model.queue(call("monday_list_items", board_id="1001"), reply("Could not."))
    run = run_from_page(member_client, agent, prompt="List Marketing's items")
    offered = {t["function"]["name"] for t in model.requests[0]["tools"]}
    assert "monday_create_item" not in offered and "monday_list_items" in offered
    answer = json.loads(tool_messages(model.requests[1])[-1]["content"])
    assert answer["error"]["code"] == "policy_denied"
    assert run.steps.filter(error_code="policy_denied").exists()
    # The REST API is not an agent: the same person may still create items there.
    assert (
        execute(api, alice, "monday_create_item", board_id="1001", item_name="By hand").status_code
        == 200
    )


@pytest.mark.django_db(transaction=True)
def test_mcp_and_its_meta_tools_follow_the_rules_for_mcp(api, alice, boards, api_key, live_portal):
    rule(api, name="MCP reads only", vias=["mcp"], access="write", effect="deny")
    rule(
        api,
        name="Not Marketing over MCP",
        vias=["mcp"],
        tools=["monday_list_items"],
        conditions=[{"path": "$.board_id", "op": "equals", "value": "1001"}],
        effect="deny",
    )
    headers = bearer(api_key, **{"X-Portal-Identifier": alice.user.identifier})
    outcome = use_tools(
        live_portal.mcp_url,
        headers=headers,
        calls=(
            ("monday_list_items", {"board_id": "1001"}),
            ("call_tool", {"name": "monday_list_items", "arguments": {"board_id": "1001"}}),
            ("monday_create_item", {"board_id": "1001", "item_name": "Over MCP"}),
            ("search_tools", {"query": "create an item", "limit": 5}),
        ),
    )
    assert "monday_create_item" not in outcome.names and "monday_list_items" in outcome.names
    direct, meta, write, search = outcome.results
    assert direct.structured_content["error"]["code"] == "policy_denied"
    assert meta.structured_content["error"]["code"] == "policy_denied"
    assert write.is_error and not [i for i in boards.items.values() if i["name"] == "Over MCP"]
    assert "monday_create_item" not in {r["name"] for r in search.structured_content["results"]}


def test_rules_are_checked_versioned_and_audited(api):
    bad = [
        {"name": "x", "effect": "maybe"},
        {"name": "x", "effect": "deny", "tools": ["no_such_tool*"]},
        {
            "name": "x",
            "effect": "deny",
            "conditions": [{"path": "$.a", "op": "regex", "value": "("}],
        },
        {"name": "x", "effect": "deny", "conditions": [{"path": "$.a", "op": "in", "value": "x"}]},
        {"name": "x", "effect": "limit"},
        {"name": "x", "effect": "deny", "vias": ["email"]},
    ]
    for body in bad:
        answer = api.post("/api/v1/policy-rules", body, format="json")
        assert answer.status_code in (400, 422), body
        assert answer.json()["error"]["code"] == "invalid_rule", answer.json()
    assert api.get("/api/v1/policy-rules").json()["results"] == []
    made = rule(api, name="Deny Slack", providers=["slack"], effect="deny")
    changed = api.patch(f"/api/v1/policy-rules/{made['id']}", {"enabled": False}, format="json")
    assert changed.status_code == 200 and changed.json()["version"] == 2
    assert api.delete(f"/api/v1/policy-rules/{made['id']}").status_code == 204
    actions = list(
        AuditEvent.objects.filter(target_type="policy_rule")
        .order_by("created_at")
        .values_list("action", flat=True)
    )
    assert actions == ["policy_rule.created", "policy_rule.updated", "policy_rule.deleted"]


def test_members_cannot_manage_rules(member_client):
    assert member_client.get("/api/v1/policy-rules").status_code == 403


def test_loaded_rules_cost_no_statement_per_call(org, owner, alice, boards):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    who = as_identifier(org, alice.user.identifier)

    def statements() -> int:
        with CaptureQueriesContext(connection) as captured:
            tools.execute_tool(caller=who, tool_name="monday_get_me", params={})
        return len(captured)

    tools.execute_tool(caller=who, tool_name="monday_get_me", params={})  # warm
    without_rules = statements()
    caller = as_member(owner)
    for n in range(200):
        policy.create_rule(caller=caller, name=f"rule {n}", tools=["slack_*"], effect="deny")
    org.refresh_from_db()
    who = as_identifier(org, alice.user.identifier)
    tools.execute_tool(caller=who, tool_name="monday_get_me", params={})  # loads the rules once
    assert statements() == without_rules  # the same statements as with no rule at all


def test_an_approve_rule_is_409_on_the_api_which_has_no_one_to_ask(api, alice, boards):
    made = rule(api, name="Ask first", tools=["monday_create_item"], effect="approve")
    answer = execute(api, alice, "monday_create_item", board_id="1001", item_name="Ask")
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "approval_required"
    assert answer.json()["error"]["details"]["rule_id"] == made["id"]
    assert not [i for i in boards.items.values() if i["name"] == "Ask"]


@pytest.mark.django_db(transaction=True)
def test_an_approve_rule_pauses_an_agent_run_even_for_a_read(
    api, alice, boards, model, member_client, agent
):
    from agents.models import RunStatus
    from tests.agent_support import decision
    from tests.agents.test_runs import run_from_page

    rule(api, name="Ask before reading items", tools=["monday_list_items"], effect="approve")
    assert agent.approval_policy == "never"
    model.queue(call("monday_list_items", board_id="1001"), reply("Listed."))
    run = run_from_page(member_client, agent, prompt="List Marketing's items")
    run.refresh_from_db()
    assert run.status == RunStatus.AWAITING_APPROVAL
    assert len(model.requests) == 1  # nothing more until a person decides
    member_client.post(f"/runs/{run.pk}/approve/", decision(run))
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.status_reason
    assert run.steps.get(tool_name="monday_list_items").outcome == "ok"


@pytest.mark.django_db(transaction=True)
def test_an_approve_rule_sends_an_mcp_client_to_the_approval_page(
    api, alice, boards, api_key, live_portal
):
    rule(api, name="Ask over MCP", vias=["mcp"], tools=["monday_list_items"], effect="approve")
    headers = bearer(api_key, **{"X-Portal-Identifier": alice.user.identifier})
    asked = use_tools(
        live_portal.mcp_url, headers=headers, calls=(("monday_list_items", {"board_id": "1001"}),)
    ).results[0]
    assert asked.is_error and asked.structured_content["error"]["code"] == "approval_required"
    assert "/apps/approvals/" in asked.structured_content["error"]["details"]["approval_url"]


@pytest.mark.django_db(transaction=True)
def test_allow_limit_and_approve_over_mcp_and_its_meta_tools(
    api, alice, boards, api_key, live_portal
):
    allow = rule(api, name="Who am I, always", position=1, tools=["monday_get_me"], effect="allow")
    rule(
        api,
        name="One board list a minute",
        position=2,
        vias=["mcp"],
        tools=["monday_list_boards"],
        effect="limit",
        limit_count=1,
        limit_window_seconds=60,
    )
    rule(api, name="Ask for items", position=3, tools=["monday_list_items"], effect="approve")
    headers = bearer(api_key, **{"X-Portal-Identifier": alice.user.identifier})
    outcome = use_tools(
        live_portal.mcp_url,
        headers=headers,
        calls=(
            ("call_tool", {"name": "monday_get_me", "arguments": {}}),
            ("monday_list_boards", {}),
            ("call_tool", {"name": "monday_list_boards", "arguments": {}}),
            ("call_tool", {"name": "monday_list_items", "arguments": {"board_id": "1001"}}),
        ),
    )
    allowed, first, limited, held = outcome.results
    assert not allowed.is_error and not first.is_error
    assert limited.structured_content["error"]["code"] == "policy_limited"
    assert held.structured_content["error"]["code"] == "approval_required"
    assert "/apps/approvals/" in held.structured_content["error"]["details"]["approval_url"]
    me = AuditEvent.objects.filter(action="tool.executed", target_id="monday_get_me").latest("id")
    assert me.metadata["policy_rule"] == allow["id"] and me.metadata["via"] == "mcp"


@pytest.mark.django_db(transaction=True)
def test_allow_and_limit_in_agent_runs(api, alice, boards, model, member_client, agent):
    from tests.agents.test_runs import run_from_page, tool_messages

    allow = rule(api, name="Reads are fine", position=1, tools=["monday_get_me"], effect="allow")
    rule(
        api,
        name="One board list a minute",
        position=2,
        vias=["agent"],
        tools=["monday_list_boards"],
        effect="limit",
        limit_count=1,
        limit_window_seconds=60,
    )
    model.queue(
        call("monday_get_me"),
        call("monday_list_boards"),
        call("monday_list_boards"),
        reply("Done."),
    )
    run = run_from_page(member_client, agent, prompt="Who am I, and my boards twice")
    last = json.loads(tool_messages(model.requests[3])[-1]["content"])
    assert last["error"]["code"] == "policy_limited"
    assert run.steps.filter(tool_name="monday_list_boards", outcome="ok").count() == 1
    me = AuditEvent.objects.filter(action="tool.executed", target_id="monday_get_me").latest("id")
    assert me.metadata["policy_rule"] == allow["id"] and me.metadata["via"] == "agent"


def test_regexes_matched_together_decide_as_each_rule_alone(org, owner):
    """decide() runs a tool's regexes on one argument as one RE2 Set; a rule's own
    matches_arguments() runs its regex alone (as the dry run does): they must agree."""
    caller = as_member(owner)
    patterns = ["^launch", "(?i)SECRET", r"\d{4}$", "plan v[0-9]+", "^$", "x|y|z"]
    for n, pattern in enumerate(patterns):
        policy.create_rule(
            caller=caller,
            name=f"regex {n}",
            position=n,
            tools=["monday_create_item"],
            conditions=[{"path": "$.item_name", "op": "regex", "value": pattern}],
            effect="deny",
        )
    org.refresh_from_db()
    tool = tools.tool_registry()["monday_create_item"]
    context = policy.Context(caller=as_identifier(org, owner.user.identifier))
    for name in ["launch day", "a Secret plan", "year 2026", "plan v2", "", "nothing", "Ωx", 12]:
        params = {"board_id": "1", "item_name": name}
        alone = next((c.rule for c in policy.rules_of(org) if c.matches_arguments(params)), None)
        assert policy.decide(tool, params, context) == alone, name
    assert policy.decide(tool, {"board_id": "1"}, context) is None  # no item_name: no regex holds
