"""Approvals where the approver is (issue 26): a held call is emailed to who may decide it
and sent as the `approval.requested` webhook event, with a signed, single-use, expiring
link to a phone-sized page that shows the whole call; a rule naming approvers makes it
four-eyes (never the requester, and nobody the rule does not name)."""

from __future__ import annotations

import re
from datetime import timedelta

import jsonschema
import pytest
from django.core import mail
from django.utils import timezone

from agents.models import ApprovalLink, RunStatus
from audit.models import AuditEvent
from mcpserver import approvals
from mcpserver.models import McpApproval
from portal.models import Role
from tests.agent_support import decision
from tests.agents.test_runs import run_from_page
from tests.callers import as_member
from tests.connections.test_policy import rule
from tests.factories import MembershipFactory
from tests.fakes.openai_server import call, reply
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.fixtures import signed_in
from webhooks import events
from webhooks.models import WebhookEvent

LINK = re.compile(r"http://testserver(/approve/[^/\s]+/)")

pytestmark = pytest.mark.django_db(transaction=True)


def emailed_links(to: str) -> list[str]:
    return [LINK.search(m.body).group(1) for m in mail.outbox if to in m.to]


@pytest.fixture
def receiver():
    with WebhookReceiver() as server:
        yield server


@pytest.fixture
def held_run(api, org, admin, alice, boards, model, member_client, agent, receiver):
    """Alice's run, held by a rule that names admins as approvers."""
    made = api.post("/api/v1/webhook-endpoints", {"url": receiver.url}, format="json")
    assert made.status_code == 201, made.content
    rule(
        api,
        name="Admins approve item lists",
        tools=["monday_list_items"],
        effect="approve",
        approvers=["admin"],
    )
    model.queue(call("monday_list_items", board_id="1001"), reply("Listed."))
    run = run_from_page(member_client, agent, prompt="List Marketing's items")
    run.refresh_from_db()
    assert run.status == RunStatus.AWAITING_APPROVAL
    return run


def test_a_held_call_is_emailed_to_the_named_approvers_and_sent_as_a_webhook_event(
    held_run, org, admin, owner, alice
):
    late = MembershipFactory(organization=org, role=Role.ADMIN)
    # Approvers are found when the call is held: an admin who joins later gets no email.
    assert not emailed_links(late.user.email)
    sent = [m for m in mail.outbox if "Approve monday_list_items" in m.subject]
    assert {to for m in sent for to in m.to} == {admin.user.email}  # not the owner: not named
    assert len(emailed_links(admin.user.email)) == 1
    (event,) = WebhookEvent.objects.filter(type="approval.requested")
    jsonschema.validate(event.payload, events.envelope_schema("approval.requested"))
    data = event.payload["data"]["approval"]
    assert data["kind"] == "run" and data["id"] == str(held_run.pk)
    assert data["approvers"] == ["admin"] and data["requested_by"] == alice.user.identifier
    assert data["approve_link"].startswith("http://testserver/approve/")
    assert "1001" not in str(event.payload)  # never the arguments: the page shows them


def test_four_eyes_the_requester_and_unnamed_people_cannot_decide(
    held_run, org, admin, owner, member_client
):
    # The requester, on the run page and the API alike.
    refused = member_client.post(f"/runs/{held_run.pk}/approve/", decision(held_run))
    held_run.refresh_from_db()
    assert held_run.status == RunStatus.AWAITING_APPROVAL, refused.status_code
    # The owner is an admin of sorts, but the rule names admins only.
    signed_in(owner).post(f"/runs/{held_run.pk}/approve/", decision(held_run))
    held_run.refresh_from_db()
    assert held_run.status == RunStatus.AWAITING_APPROVAL
    # A named approver decides.
    signed_in(admin).post(f"/runs/{held_run.pk}/approve/", decision(held_run))
    held_run.refresh_from_db()
    assert held_run.status == RunStatus.SUCCEEDED, held_run.status_reason


def test_the_link_opens_a_phone_page_with_the_whole_call_and_works_once(held_run, admin):
    (path,) = emailed_links(admin.user.email)
    browser = signed_in(admin)
    page = browser.get(path)
    html = page.content.decode()
    assert page.status_code == 200 and "monday_list_items" in html and "1001" in html
    assert 'name="viewport"' in html and "phone-approval" in html
    fingerprint = re.search(r'name="fingerprint" value="([0-9a-f]+)"', html).group(1)
    done = browser.post(path, {"decision": "approve", "fingerprint": fingerprint})
    assert done.status_code == 200 and "Approved" in done.content.decode()
    held_run.refresh_from_db()
    assert held_run.status == RunStatus.SUCCEEDED, held_run.status_reason
    again = browser.post(path, {"decision": "approve", "fingerprint": fingerprint})
    assert again.status_code == 410 and "used already" in again.content.decode()
    decided = AuditEvent.objects.get(action="agent_run.approved")
    assert decided.actor_id == str(admin.user.pk)


def test_a_link_is_for_its_recipient_signed_and_expiring(held_run, admin, member_client):
    (path,) = emailed_links(admin.user.email)
    assert member_client.get(path).status_code == 404  # another person's link
    assert member_client.get(path[:-3] + "xx/").status_code == 404  # tampered
    assert signed_in(admin).get("/approve/not-a-token/").status_code == 404
    anonymous = signed_in(admin)
    anonymous.logout()
    assert anonymous.get(path).status_code == 302  # sign in first
    ApprovalLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = signed_in(admin).get(path)
    assert expired.status_code == 410 and "expired" in expired.content.decode()
    held_run.refresh_from_db()
    assert held_run.status == RunStatus.AWAITING_APPROVAL


def test_an_mcp_call_held_for_approvers_is_four_eyes(org, owner, admin, member):
    alice = member
    other_admin = MembershipFactory(organization=org, role=Role.ADMIN)
    requester = as_member(admin)
    held = approvals.gate(
        caller=requester,
        client_id="cursor",
        tool_name="monday_create_item",
        arguments={"board_id": "1001", "item_name": "x"},
        required=True,
        approvers=["admin"],
    )
    assert held is not None and held.approvers == ["admin"]
    mailed = {to for m in mail.outbox for to in m.to}
    assert other_admin.user.email in mailed and admin.user.email not in mailed
    for who in (admin, owner, alice):  # the requester; an owner not named; a member
        with pytest.raises(Exception) as refused:
            approvals.decide(
                caller=as_member(who),
                approval_id=held.pk,
                approve=True,
                fingerprint=held.fingerprint,
            )
        assert getattr(refused.value, "code", "") in ("not_allowed", "not_found")
    approvals.decide(
        caller=as_member(other_admin),
        approval_id=held.pk,
        approve=True,
        fingerprint=held.fingerprint,
    )
    assert McpApproval.objects.get(pk=held.pk).status == McpApproval.Status.APPROVED
