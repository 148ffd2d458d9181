"""The dashboard: what admins must act on, what members own; a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents.models import Agent, AgentRun, RunStatus
from audit import trail
from audit.models import AuditEvent
from connections.configuration import create_connection
from connections.models import AccountStatus, ConnectedAccount, UsageDay
from tests.factories import MembershipFactory
from tests.fixtures import signed_in


def _account(org, conn, membership, status=AccountStatus.ACTIVE, failures=0):
    return ConnectedAccount.objects.create(
        organization=org,
        connection=conn,
        identifier=membership.user.identifier,
        user=membership.user,
        status=status,
        status_reason="The provider rejected the refresh token." if failures or status else "",
        refresh_failure_count=failures,
    )


def _tool_event(org, outcome, age: timedelta):
    """A tool execution `age` ago, as execute_tool leaves it: its audit event and its
    day's usage row (what the dashboard counts)."""
    at = timezone.now() - age
    event = trail.record(action="tool.executed", organization=org, outcome=outcome)
    AuditEvent.objects.filter(pk=event.pk).update(created_at=at)
    row, _ = UsageDay.objects.get_or_create(organization=org, day=at.date(), provider="monday")
    UsageDay.objects.filter(pk=row.pk).update(
        attempts=F("attempts") + 1, failures=F("failures") + int(outcome != "success")
    )


def _run(org, agent, membership, prompt="hello"):
    return AgentRun.objects.create(
        organization=org,
        agent=agent,
        user=membership.user,
        identifier=membership.user.identifier,
        prompt=prompt,
        status=RunStatus.SUCCEEDED,
    )


def _world(org, n: int):
    """n members with accounts (one expired, one failing refresh), runs and tool events."""
    conn = create_connection(org=org, name="monday", provider="monday", client_id="c")
    agent = Agent.objects.create(organization=org, name="Helper")
    members = [MembershipFactory(organization=org) for _ in range(n)]
    _account(org, conn, members[0], AccountStatus.EXPIRED)
    _account(org, conn, members[1], failures=3)
    for membership in members[2:]:
        _account(org, conn, membership)
        _run(org, agent, membership)
    for hours in range(n):
        _tool_event(org, "success", timedelta(hours=hours))
    return conn, agent, members


def test_admins_see_accounts_by_status_attention_activity_and_runs(org, owner, other_org):
    _, agent, members = _world(org, 4)
    _tool_event(org, "failure", timedelta(hours=2))
    _tool_event(org, "denied", timedelta(days=3))
    _tool_event(org, "success", timedelta(days=10))  # outside the chart
    _tool_event(other_org, "failure", timedelta(hours=1))  # another tenant
    _run(org, agent, members[2], prompt="Create the Q3 item")

    response = signed_in(owner).get("/")
    page, context = response.content.decode(), response.context
    assert dict((s, n) for s, _, n in context["accounts_by_status"])[AccountStatus.ACTIVE] == 3
    assert context["account_total"] == 4
    assert {a.identifier for a in context["attention"]} == {
        members[0].user.identifier,
        members[1].user.identifier,
    }
    activity = context["tool_activity"]
    today = timezone.now().date()  # the events of the last hours may fall on yesterday
    ages = [timedelta(hours=h) for h in range(4)] + [timedelta(hours=2)]
    assert activity.today == sum((timezone.now() - age).date() == today for age in ages)
    assert activity.failures_today == int((timezone.now() - timedelta(hours=2)).date() == today)
    assert f"Today (UTC): {activity.today} ({activity.failures_today} failed)" in page
    assert (activity.last_7d, activity.failures_7d) == (6, 2)
    assert len(activity.days) == 7 and sum(b.total for b in activity.days) == 6
    assert max(b.height for b in activity.days) == 88
    assert "Create the Q3 item" in page and members[0].user.email in page
    assert "refresh failing (3×)" in page
    assert "<svg" in page and "cdn" not in page.lower()


def test_members_see_their_accounts_with_reconnect_and_only_their_runs(org, owner, member):
    conn = create_connection(org=org, name="monday", provider="monday", client_id="c")
    agent = Agent.objects.create(organization=org, name="Helper")
    _account(org, conn, member, AccountStatus.EXPIRED)
    _run(org, agent, member, prompt="my own run")
    colleague = MembershipFactory(organization=org)
    _run(org, agent, colleague, prompt="a colleague's run")

    page = signed_in(member).get("/").content.decode()
    assert "Reconnect" in page and "/connected-accounts/monday/connect/" in page
    assert "my own run" in page and "a colleague&#x27;s run" not in page
    assert "a colleague's run" not in page
    assert "need attention" not in page  # admin figures stay on the admin dashboard


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/").status_code == 200
    return len(captured.captured_queries)


def test_the_dashboard_costs_the_same_number_of_queries_at_any_size(org, owner, other_org):
    other_owner = MembershipFactory(organization=other_org, role="owner")
    _, _, small_members = _world(other_org, 3)
    small_admin = _queries(signed_in(other_owner))
    small_member = _queries(signed_in(small_members[2]))

    *_, members = _world(org, 40)
    big_admin = _queries(signed_in(owner))
    big_member = _queries(signed_in(members[5]))
    assert big_admin == small_admin, (small_admin, big_admin)
    assert big_member == small_member, (small_member, big_member)
    assert big_admin <= 20


def test_a_new_organization_gets_a_checklist_until_every_step_is_done(
    org, owner, member, other_org
):
    client = signed_in(owner)
    steps = client.get("/").context["setup_steps"]
    assert [(s.title, s.done) for s in steps] == [
        ("Add a connection", False),
        ("Connect your own account", False),
        ("Create an agent", False),
        ("Run it", False),
    ]
    assert "Get started" not in signed_in(member).get("/").content.decode()  # admins' checklist
    # Another organization's progress counts for nothing here.
    _world(other_org, 3)
    assert not any(s.done for s in client.get("/").context["setup_steps"])

    conn = create_connection(org=org, name="monday", provider="monday", client_id="c")
    _account(org, conn, member)  # a member's account is not the owner's own
    agent = Agent.objects.create(organization=org, name="Helper")
    assert [s.done for s in client.get("/").context["setup_steps"]] == [True, False, True, False]
    page = client.get("/").content.decode()
    assert "Get started" in page and "/agents/new/" in page
    assert "No tool calls in the last 7 days" in page and 'class="chart"' not in page

    _account(org, conn, owner)
    refused = _run(org, agent, owner)  # ended before any model call (no model configured)
    refused.status, refused.model_calls = RunStatus.FAILED, 0
    refused.save()
    assert [s.done for s in client.get("/").context["setup_steps"]][-1] is False
    AgentRun.objects.filter(pk=refused.pk).update(status=RunStatus.SUCCEEDED, model_calls=1)
    response = client.get("/")
    assert response.context["setup_steps"] is None
    assert "Get started" not in response.content.decode()


def test_an_unfinished_authorization_is_waiting_not_connected(org, owner, member):
    conn = create_connection(org=org, name="monday", provider="monday", client_id="c")
    waiting = _account(org, conn, member)
    ConnectedAccount.objects.filter(pk=waiting.pk).update(status="PENDING_AUTH")
    context = signed_in(owner).get("/").context
    assert context["account_total"] == 0 and context["account_waiting"] == 1


def test_a_job_is_not_late_before_it_was_first_due():
    from datetime import timedelta

    from django.utils import timezone

    from front.operations import JobRow, as_interval

    just_up = timezone.now() - timedelta(minutes=7)
    assert not JobRow("prune_audit", 86400, None, workers_since=just_up).late
    assert JobRow("sequence_audit", 1, None, workers_since=just_up).late
    assert not JobRow("prune_audit", 86400, None, workers_since=None).late
    assert as_interval(86400) == "1 day" and as_interval(15) == "15 seconds"
    assert as_interval(3600 * 2) == "2 hours" and as_interval(1.5) == "1.5 seconds"
