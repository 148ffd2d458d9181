"""A removed member's connected accounts are disconnected (revoked at the provider,
tokens erased), no API key can act as them any more, and their agent runs waiting for
an approval are rejected. Two concurrent removals never leave an organization without
an owner."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from agents.models import AgentRun, AgentStep, RunStatus
from audit.models import AuditEvent
from connections import accounts
from connections.models import AccountStatus, ConnectedAccount
from core.errors import Conflict
from portal.callers import Caller
from portal.models import Membership, Role
from portal.organizations import remove_member
from tests.factories import MembershipFactory
from tests.fakes.openai_server import call
from tests.fixtures import signed_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_removing_a_member_disconnects_revokes_and_locks_keys_out(org, owner, alice, monday, api):
    account = ConnectedAccount.objects.get(identifier=alice.user.identifier)
    refresh_token = accounts.token_set(account)["refresh_token"]

    response = signed_in(owner).post(f"/members/{alice.pk}/remove/")
    assert response.status_code == 302

    account.refresh_from_db()
    assert account.status == AccountStatus.DISCONNECTED and account.token_set_sealed == ""
    assert "left the organization" in account.status_reason
    assert refresh_token in monday.revocations
    for path in (
        f"/api/v1/tools?identifier={alice.user.identifier}",
        f"/api/v1/connected-accounts?identifier={alice.user.identifier}",
    ):
        answer = api.get(path)
        assert answer.status_code in (200, 404)
        if answer.status_code == 200:  # listing is allowed; nothing in it is usable
            assert all(a["status"] != "ACTIVE" for a in answer.json()["results"])
    execute = api.post(
        "/api/v1/tools/execute",
        {"tool_name": "monday_get_me", "identifier": alice.user.identifier},
        format="json",
    )
    assert execute.status_code == 404
    assert execute.json()["error"]["code"] == "identifier_not_member"


def test_a_removed_members_run_waiting_for_approval_is_rejected(
    org, owner, alice, agent, model, boards
):
    agent.approval_policy = "always"
    agent.save()
    model.queue(call("monday_create_item", board_id="1001", item_name="Later"))
    signed_in(alice).post(f"/agents/{agent.pk}/", {"prompt": "create it"})
    run = AgentRun.objects.get()
    assert run.status == RunStatus.AWAITING_APPROVAL

    signed_in(owner).post(f"/members/{alice.pk}/remove/")

    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "removed" in run.status_reason
    assert run.steps.get(kind="tool").outcome == AgentStep.Outcome.DECLINED
    assert AuditEvent.objects.filter(
        action="agent_run.rejected", metadata__reason="member_removed"
    ).exists()
    assert not [i for i in boards.items.values() if i["name"] == "Later"]


def test_two_concurrent_removals_never_leave_no_owner(org, owner):
    second = MembershipFactory(organization=org, role=Role.OWNER)
    barrier = threading.Barrier(2)
    results: list[str] = []

    def remove(actor, target):
        try:
            barrier.wait()
            remove_member(caller=Caller.of_member(actor), membership_id=target.pk)
            results.append("removed")
        except Conflict:
            results.append("last_owner")
        finally:
            connections.close_all()

    # Each owner removes the other, at the same moment.
    threads = [
        threading.Thread(target=remove, args=(owner, second)),
        threading.Thread(target=remove, args=(second, owner)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["last_owner", "removed"]
    assert Membership.objects.filter(organization=org, role=Role.OWNER).count() == 1
