"""The controls beyond rules (issue 26): rules on the raw proxy, the organization's
pre-execution hook (a real HTTP server, signatures checked with the Standard Webhooks
library), and budgets with the usage they count."""

from __future__ import annotations

import json

import pytest
from standardwebhooks.webhooks import Webhook

from audit.models import AuditEvent
from connections.models import UsageDay
from tests.connections.test_policy import execute, rule
from tests.fakes.openai_server import call, reply
from tests.fakes.policy_hook import PolicyHookServer

ME = {"query": "query { me { id name email } }"}


def proxy(api, who, method="POST", **body):
    payload = {
        "connection_name": "monday",
        "identifier": who.user.identifier,
        "method": method,
        "path": "",
        "body": ME,
    }
    return api.post("/api/v1/proxy", payload | body, format="json")


# --- The proxy under the rules --------------------------------------------------------------


def test_rules_name_the_proxy_and_decide_it_before_anything_is_sent(api, alice, monday):
    made = rule(
        api,
        name="No raw writes",
        position=5,
        tools=["proxy"],
        vias=["proxy"],
        conditions=[{"path": "$.method", "op": "not_in", "value": ["GET"]}],
        effect="deny",
        message="Use the tools.",
    )
    sent_before = len(monday.api.api_requests)
    refused = proxy(api, alice)
    assert refused.status_code == 403, refused.content
    error = refused.json()["error"]
    assert error["code"] == "policy_denied" and error["details"]["rule_id"] == made["id"]
    assert len(monday.api.api_requests) == sent_before  # nothing reached monday.com
    event = AuditEvent.objects.get(action="proxy.executed")
    assert event.outcome == "denied" and event.metadata["policy_rule"] == made["id"]
    assert not AuditEvent.objects.filter(action="proxy.started").exists()
    # The tools are not the proxy: the same person may still run them.
    assert execute(api, alice, "monday_get_me").status_code == 200
    # An allow rule asked first lets the same request through, and is named in its event.
    allow = rule(api, name="GraphQL reads", position=0, tools=["proxy"], effect="allow")
    assert proxy(api, alice).status_code == 200
    done = AuditEvent.objects.filter(action="proxy.executed", outcome="success").get()
    assert done.metadata["policy_rule"] == allow["id"]


def test_approve_and_limit_rules_on_the_proxy(api, alice, monday):
    made = rule(api, name="Ask", tools=["proxy"], effect="approve")
    asked = proxy(api, alice)
    assert asked.status_code == 409 and asked.json()["error"]["code"] == "approval_required"
    assert asked.json()["error"]["details"]["rule_id"] == made["id"]
    api.delete(f"/api/v1/policy-rules/{made['id']}")
    rule(
        api,
        name="Two a minute",
        tools=["proxy"],
        effect="limit",
        limit_count=2,
        limit_window_seconds=60,
    )
    answers = [proxy(api, alice).status_code for _ in range(3)]
    assert answers == [200, 200, 429]


# --- The pre-execution hook ------------------------------------------------------------------


@pytest.fixture
def hook(settings):
    with PolicyHookServer() as server:
        yield server


def set_hook(api, hook, **fields) -> dict:
    answer = api.put("/api/v1/policy-hook", {"url": hook.url, **fields}, format="json")
    assert answer.status_code == 200, answer.content
    return answer.json()


def test_the_hook_is_asked_signed_and_its_deny_is_the_answer(api, alice, boards, hook):
    secret = set_hook(api, hook)["secret"]
    assert secret.startswith("whsec_")
    hook.decision, hook.message = "deny", "Change freeze until Monday."
    refused = execute(api, alice, "monday_create_item", board_id="1001", item_name="Frozen")
    assert refused.status_code == 403
    assert refused.json()["error"] == {
        "code": "policy_denied",
        "message": "Change freeze until Monday.",
        "details": {
            "hook": True,
            "execution_id": refused.json()["error"]["details"]["execution_id"],
        },
    }
    assert not [i for i in boards.items.values() if i["name"] == "Frozen"]
    received = hook.received[-1]
    # Verified as a company's receiver would: the Standard Webhooks library, our secret.
    payload = Webhook(secret).verify(received.body, received.headers)
    assert payload["call"]["tool"] == "monday_create_item" and payload["call"]["write"] is True
    assert payload["call"]["arguments"] == {"board_id": "1001", "item_name": "Frozen"}
    assert payload["call"]["identifier"] == alice.user.identifier
    assert secret not in json.dumps(payload)
    event = AuditEvent.objects.filter(action="tool.executed").latest("created_at")
    assert event.metadata["hook"]["decision"] == "deny" and event.metadata["hook"]["status"] == 200
    # Allowed: the call runs, and the answer is audited too.
    hook.decision = "allow"
    assert execute(api, alice, "monday_get_me").status_code == 200
    event = AuditEvent.objects.filter(action="tool.executed").latest("created_at")
    assert event.metadata["hook"]["decision"] == "allow"


def test_a_hook_that_asks_for_approval_holds_the_call(api, alice, boards, hook):
    set_hook(api, hook)
    hook.decision = "approve"
    answer = execute(api, alice, "monday_get_me")
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "approval_required"


@pytest.mark.parametrize(
    ("trouble", "fail_open", "expected"),
    [
        ("slow", False, 403),
        ("slow", True, 200),
        ("500", False, 403),
        ("not a decision", False, 403),
        ("not a decision", True, 200),
    ],
)
def test_a_failing_hook_fails_closed_or_open_as_set_within_its_deadline(
    api, alice, boards, hook, trouble, fail_open, expected
):
    import time

    set_hook(api, hook, fail_open=fail_open)
    if trouble == "slow":
        hook.delay = 3.0
    elif trouble == "500":
        hook.status = 500
    else:
        hook.body = b'{"ok": true}'
    started = time.monotonic()
    answer = execute(api, alice, "monday_get_me")
    assert time.monotonic() - started < 2.9  # the hook's 2 s deadline, not its 3 s delay
    assert answer.status_code == expected, answer.content
    if expected == 403:
        assert answer.json()["error"]["code"] == "policy_hook_failed"
    event = AuditEvent.objects.filter(action="tool.executed").latest("created_at")
    assert event.metadata["hook"]["error"]
    assert event.metadata["hook"]["decision"] == ("allow" if fail_open else "deny")


def test_the_hook_is_set_checked_audited_and_removed(api, member_client, hook):
    assert api.get("/api/v1/policy-hook").status_code == 404
    bad = api.put("/api/v1/policy-hook", {"url": "ftp://x.example"}, format="json")
    assert bad.status_code in (400, 422) and bad.json()["error"]["code"] == "invalid_url"
    first = set_hook(api, hook)
    again = set_hook(api, hook, fail_open=True)
    assert "secret" not in again and again["fail_open"] is True  # the secret shows once
    rotated = set_hook(api, hook, rotate_secret=True)
    assert rotated["secret"] != first["secret"]
    shown = api.get("/api/v1/policy-hook").json()
    assert "secret" not in shown and shown["url"] == hook.url
    assert member_client.get("/api/v1/policy-hook").status_code == 403
    assert api.delete("/api/v1/policy-hook").status_code == 204
    actions = list(
        AuditEvent.objects.filter(target_type="policy_hook").values_list("action", flat=True)
    )
    assert actions.count("policy_hook.set") == 3 and "policy_hook.deleted" in actions
    assert first["secret"] not in json.dumps(
        list(AuditEvent.objects.values_list("metadata", flat=True))
    )


@pytest.mark.django_db(transaction=True)
def test_the_hook_holds_an_agent_runs_call_for_approval(
    api, alice, boards, hook, model, member_client, agent
):
    from agents.models import RunStatus
    from tests.agent_support import decision
    from tests.agents.test_runs import run_from_page

    set_hook(api, hook)
    hook.decision = "approve"
    model.queue(call("monday_list_items", board_id="1001"), reply("Listed."))
    run = run_from_page(member_client, agent, prompt="List Marketing's items")
    run.refresh_from_db()
    assert run.status == RunStatus.AWAITING_APPROVAL
    member_client.post(f"/runs/{run.pk}/approve/", decision(run))
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.status_reason
    assert run.steps.get(tool_name="monday_list_items").outcome == "ok"


# --- Budgets and usage -----------------------------------------------------------------------


def budget(api, **fields) -> dict:
    made = api.post("/api/v1/budgets", fields, format="json")
    assert made.status_code == 201, made.content
    return made.json()


def test_a_tool_call_budget_refuses_the_call_beyond_it_and_usage_is_counted(api, alice, boards):
    budget(api, scope="member", metric="tool_calls", period="day", limit=2)
    assert execute(api, alice, "monday_get_me").status_code == 200
    assert execute(api, alice, "monday_list_boards").status_code == 200
    refused = execute(api, alice, "monday_get_me")
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "budget_exceeded"
    assert int(refused["Retry-After"]) >= 1
    row = UsageDay.objects.get(identifier=alice.user.identifier, provider="monday")
    assert (row.tool_calls, row.denials, row.attempts, row.failures) == (2, 1, 3, 1)


def test_budgets_are_checked_replaced_and_removed(api, member_client):
    for bad in (
        {"scope": "galaxy", "metric": "tokens", "period": "day", "limit": 1},
        {"scope": "agent", "metric": "tokens", "period": "week", "limit": 1},
        {"scope": "agent", "metric": "tokens", "period": "day", "limit": -1},
        {"scope": "agent", "metric": "joy", "period": "day", "limit": 1},
    ):
        answer = api.post("/api/v1/budgets", bad, format="json")
        assert answer.status_code in (400, 422) and answer.json()["error"]["code"], bad
    first = budget(api, scope="agent", subject="Assistant", metric="tokens", period="day", limit=10)
    second = budget(
        api, scope="agent", subject="Assistant", metric="tokens", period="day", limit=99
    )
    listed = api.get("/api/v1/budgets").json()["results"]
    assert [b["limit"] for b in listed] == [99]  # the same budget set again replaces it
    assert api.get(f"/api/v1/budgets/{first['id']}").status_code == 404
    assert member_client.get("/api/v1/budgets").status_code == 403
    assert api.delete(f"/api/v1/budgets/{second['id']}").status_code == 204
    assert AuditEvent.objects.filter(action="budget.deleted").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_run_that_reaches_a_token_budget_stops_with_budget_exceeded(
    api, alice, boards, model, member_client, agent
):
    from agents.models import RunStatus
    from tests.agents.test_runs import run_from_page

    # Each emulated model call costs 60 tokens: the second call finds the budget used up.
    budget(api, scope="agent", subject=agent.name, metric="tokens", period="month", limit=60)
    model.queue(call("monday_get_me"), reply("Done."))
    run = run_from_page(member_client, agent, prompt="Who am I on monday.com?")
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.status_reason.startswith("budget_exceeded")
    assert len(model.requests) == 1
    assert UsageDay.objects.get(agent=agent.name, provider="").tokens == 60


@pytest.mark.django_db(transaction=True)
def test_a_run_that_reaches_a_tool_call_budget_stops(
    api, alice, boards, model, member_client, agent
):
    from agents.models import RunStatus
    from tests.agents.test_runs import run_from_page

    budget(api, scope="organization", metric="tool_calls", period="day", limit=1)
    model.queue(call("monday_get_me"), call("monday_list_boards"), reply("Done."))
    run = run_from_page(member_client, agent, prompt="Who am I, and which boards?")
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.status_reason.startswith("budget_exceeded")
    assert run.steps.filter(error_code="budget_exceeded").count() == 1


def test_the_usage_page_draws_usage_and_sets_budgets(
    api, alice, boards, owner_client, member_client
):
    rule(api, name="No Slack", tools=["monday_create_*"], effect="deny")
    execute(api, alice, "monday_get_me")
    execute(api, alice, "monday_create_item", board_id="1001", item_name="No")
    page = owner_client.get("/usage/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and "monday" in html and "Tool calls per day, by provider" in html
    assert member_client.get("/usage/").status_code == 404
    saved = owner_client.post(
        "/usage/",
        {"scope": "member", "subject": "", "metric": "tool_calls", "period": "day", "limit": "50"},
    )
    assert saved.status_code == 302
    assert "Each member" in owner_client.get("/usage/").content.decode()
    refused = owner_client.post(
        "/usage/", {"scope": "member", "metric": "tool_calls", "period": "year", "limit": "5"}
    )
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
