"""DESIGN §13 rule 24 over MCP: the approval page shows the whole call the app asked for,
the decision names the fingerprint of what was shown, and the link works for a person in
several organizations without switching first."""

from __future__ import annotations

import pytest

from mcpserver import clients
from mcpserver.models import McpApproval
from portal.models import Role
from tests.callers import as_member
from tests.factories import MembershipFactory
from tests.fixtures import signed_in
from tests.mcp_support import bearer, use_tools

pytestmark = pytest.mark.django_db(transaction=True)

LONG_BODY = ("Release notes, every line of them. " * 80)[:2344]


@pytest.fixture
def always_approve(owner):
    clients.update_policy(
        caller=as_member(owner), enabled=True, allowed_client_ids=[], approval_policy="always"
    )


def _ask(portal, api_key, alice, boards, body=LONG_BODY):
    item_id = str(next(iter(boards.items)))
    headers = bearer(api_key, **{"X-Portal-Identifier": alice.user.identifier})
    update = ("monday_add_update", {"item_id": item_id, "body": body})
    answer = use_tools(portal.mcp_url, headers=headers, calls=(update,)).results[0]
    assert answer.structured_content["error"]["code"] == "approval_required"
    path = answer.structured_content["error"]["details"]["approval_url"].removeprefix(portal.origin)
    return path, headers, update, item_id


def test_the_approval_page_shows_the_whole_call_and_what_is_approved_runs(
    alice, boards, api_key, live_portal, always_approve
):
    path, headers, update, item_id = _ask(live_portal, api_key, alice, boards)
    page = signed_in(alice).get(path).content.decode()
    assert LONG_BODY in page
    approval = McpApproval.objects.get()
    assert approval.arguments["body"] == LONG_BODY  # kept whole, not the audit's cut

    stale = signed_in(alice).post(path, {"decision": "approve", "fingerprint": "0" * 64})
    assert stale.status_code == 302
    approval.refresh_from_db()
    assert approval.status == McpApproval.Status.PENDING

    signed_in(alice).post(path, {"decision": "approve", "fingerprint": approval.fingerprint})
    ran = use_tools(live_portal.mcp_url, headers=headers, calls=(update,)).results[0]
    assert not ran.is_error
    assert [u["body"] for u in boards.items[item_id]["updates"]] == [LONG_BODY]


def test_the_link_works_from_another_organization_without_switching(
    alice, other_org, boards, api_key, live_portal, always_approve
):
    elsewhere = MembershipFactory(organization=other_org, user=alice.user, role=Role.MEMBER)
    path, *_ = _ask(live_portal, api_key, alice, boards, body="Short")
    browser = signed_in(elsewhere)  # the session's organization is Globex
    page = browser.get(path)
    assert page.status_code == 200 and "Acme" in page.content.decode()
    approval = McpApproval.objects.get()
    browser.post(path, {"decision": "decline", "fingerprint": approval.fingerprint})
    approval.refresh_from_db()
    assert approval.status == McpApproval.Status.DECLINED
    # Someone who is in neither organization of the approval sees nothing.
    stranger = signed_in(MembershipFactory(organization=other_org))
    assert stranger.get(path).status_code == 404
