"""Who gets in at /mcp and what they may do: API key + identifier for headless agents,
both protocol eras, scope step-up, approvals of writes, the organization's policy, Host
and Origin checks, errors as MCP tool errors, and the apps pages per tenant."""

from __future__ import annotations

import httpx2
import pytest

from audit.models import AuditEvent
from mcpserver import clients
from mcpserver.models import McpApproval, McpConnection, McpPolicy
from portal.models import Role
from tests.callers import as_member
from tests.factories import MembershipFactory
from tests.fixtures import signed_in
from tests.mcp_support import bearer, sign_in, use_tools

pytestmark = pytest.mark.django_db(transaction=True)

LISTING = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}


def post(portal, headers: dict, body=LISTING) -> httpx2.Response:
    return httpx2.post(portal.mcp_url, headers=headers, json=body)


def test_an_api_key_with_an_identifier_acts_for_that_person(
    alice, bob, boards, api_key, live_portal
):
    as_alice = use_tools(
        live_portal.mcp_url,
        headers=bearer(api_key, **{"X-Portal-Identifier": alice.user.identifier}),
        calls=(("monday_list_boards", {}),),
    )
    boards_seen = as_alice.results[0].structured_content["data"]["boards"]
    assert [b["name"] for b in boards_seen] == ["Marketing"]

    # The same mistake gets the same status on /mcp as on REST (422 missing, 404 not a member).
    rest = httpx2.Client(base_url=live_portal.origin, headers=bearer(api_key), timeout=10)
    missing = post(live_portal, bearer(api_key))
    rest_missing = rest.post("/api/v1/tools/execute", json={"tool_name": "monday_list_boards"})
    assert missing.status_code == rest_missing.status_code == 422
    assert missing.json()["error"]["code"] == rest_missing.json()["error"]["code"]
    assert "X-Portal-Identifier" in missing.json()["error"]["message"]
    stranger = post(live_portal, bearer(api_key, **{"X-Portal-Identifier": "user_" + "0" * 32}))
    rest_stranger = rest.post(
        "/api/v1/tools/execute",
        json={"tool_name": "monday_list_boards", "identifier": "user_" + "0" * 32},
    )
    assert stranger.status_code == rest_stranger.status_code == 404
    assert post(live_portal, bearer("ap_nope_nope")).status_code == 401


def test_a_session_cookie_never_authenticates_mcp(alice, live_portal):
    browser = live_portal.browser(alice.user)
    answer = browser.post("/mcp", json=LISTING)
    assert answer.status_code == 401 and "resource_metadata" in answer.headers["www-authenticate"]


def test_handshake_era_clients_get_a_session(alice, boards, api_key, live_portal):
    headers = bearer(api_key, **{"X-Portal-Identifier": alice.user.identifier})
    legacy = use_tools(
        live_portal.mcp_url, headers=headers, mode="legacy", calls=(("monday_get_me", {}),)
    )
    modern = use_tools(live_portal.mcp_url, headers=headers)
    assert legacy.protocol_version in {"2025-06-18", "2025-11-25"}
    assert modern.protocol_version == "2026-07-28"
    assert legacy.names == modern.names and not legacy.results[0].is_error

    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "raw", "version": "1"},
        },
    }
    answer = post(
        live_portal, {**headers, "Accept": "application/json, text/event-stream"}, initialize
    )
    assert answer.status_code == 200 and answer.headers.get("mcp-session-id")


def test_without_the_write_scope_a_write_asks_for_it(alice, boards, live_portal):
    storage, _, _ = sign_in(live_portal, alice, organization="acme", write=False)
    assert McpConnection.objects.get().scopes == ["tools:read"]
    headers = bearer(storage.tokens.access_token)
    reads = use_tools(live_portal.mcp_url, headers=headers, calls=(("monday_list_boards", {}),))
    assert not reads.results[0].is_error and "monday_create_item" in reads.names

    call = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {
            "name": "monday_create_item",
            "arguments": {"board_id": "1001", "item_name": "x"},
        },
    }
    answer = post(live_portal, headers, call)
    assert answer.status_code == 403
    challenge = answer.headers["www-authenticate"]
    assert (
        'error="insufficient_scope"' in challenge and 'scope="tools:read tools:write"' in challenge
    )
    assert not [i for i in boards.items.values() if i["name"] == "x"]


def test_writes_wait_for_approval_under_the_always_policy(
    alice, owner, boards, api_key, live_portal
):
    clients.update_policy(
        caller=as_member(owner), enabled=True, allowed_client_ids=[], approval_policy="always"
    )
    headers = bearer(api_key, **{"X-Portal-Identifier": alice.user.identifier})
    create = ("monday_create_item", {"board_id": "1001", "item_name": "Needs a yes"})

    first = use_tools(live_portal.mcp_url, headers=headers, calls=(create,)).results[0]
    assert first.is_error and first.structured_content["error"]["code"] == "approval_required"
    approval_url = first.structured_content["error"]["details"]["approval_url"]
    assert approval_url.startswith(live_portal.origin + "/apps/approvals/")
    again = use_tools(live_portal.mcp_url, headers=headers, calls=(create,)).results[0]
    assert again.structured_content["error"]["code"] == "approval_required"
    assert McpApproval.objects.count() == 1  # the same request, not a new one
    assert not [i for i in boards.items.values() if i["name"] == "Needs a yes"]

    path = approval_url.removeprefix(live_portal.origin)
    page = signed_in(alice).get(path)
    assert page.status_code == 200 and b"monday_create_item" in page.content
    approval = McpApproval.objects.get()
    assert (
        signed_in(alice)
        .post(path, {"decision": "approve", "fingerprint": approval.fingerprint})
        .status_code
        == 302
    )

    ran = use_tools(live_portal.mcp_url, headers=headers, calls=(create, create)).results
    assert not ran[0].is_error
    assert ran[1].structured_content["error"]["code"] == "approval_required"  # once only
    assert len([i for i in boards.items.values() if i["name"] == "Needs a yes"]) == 1
    assert AuditEvent.objects.filter(action="mcp.approved").exists()


def test_an_organization_can_turn_mcp_off_or_allow_only_some_clients(
    alice, owner, boards, api_key, live_portal
):
    storage, _, _ = sign_in(live_portal, alice, organization="acme")
    token_headers = bearer(storage.tokens.access_token)
    key_headers = bearer(api_key, **{"X-Portal-Identifier": alice.user.identifier})

    clients.update_policy(
        caller=as_member(owner),
        enabled=True,
        allowed_client_ids=["https://only.example/c.json"],
        approval_policy="never",
    )
    refused = post(live_portal, token_headers)
    assert (
        refused.status_code == 403 and refused.json()["error"]["code"] == "mcp_client_not_allowed"
    )
    assert use_tools(live_portal.mcp_url, headers=key_headers).names  # the org's own backend

    clients.update_policy(
        caller=as_member(owner), enabled=False, allowed_client_ids=[], approval_policy="never"
    )
    assert post(live_portal, token_headers).status_code == 403
    assert post(live_portal, key_headers).json()["error"]["code"] == "mcp_disabled"
    assert AuditEvent.objects.filter(action="mcp.policy_changed").count() == 2


def test_the_person_picks_the_organization_the_app_acts_in(alice, other_org, boards, live_portal):
    MembershipFactory(organization=other_org, user=alice.user, role=Role.MEMBER)
    _, consent, outcome = sign_in(live_portal, alice, organization="globex")
    assert "Acme" in consent.pages[0] and "Globex" in consent.pages[0]
    assert McpConnection.objects.get().organization == other_org
    # In Globex Alice connected no account: no tools there.
    assert outcome.names == set()


def test_host_and_origin_are_checked(alice, api_key, live_portal):
    headers = bearer(api_key, **{"X-Portal-Identifier": alice.user.identifier})
    evil = post(live_portal, {**headers, "Origin": "https://evil.example"})
    assert evil.status_code == 403 and evil.json()["error"]["code"] == "origin_not_allowed"
    rebinding = post(live_portal, {**headers, "Host": "attacker.example"})
    assert rebinding.status_code == 400
    preflight = httpx2.options(
        live_portal.mcp_url,
        headers={"Origin": live_portal.origin, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == live_portal.origin


def test_tool_errors_are_mcp_tool_errors_with_the_portal_code(alice, boards, api_key, live_portal):
    headers = bearer(api_key, **{"X-Portal-Identifier": alice.user.identifier})
    outcome = use_tools(
        live_portal.mcp_url,
        headers=headers,
        calls=(
            ("monday_list_items", {"board_id": "not a number"}),
            ("github_list_repos", {}),
            ("monday_get_item", {"item_id": "999999"}),
        ),
    )
    invalid, unknown, missing = outcome.results
    assert invalid.is_error and invalid.structured_content["error"]["code"] == "invalid_params"
    assert unknown.structured_content["error"]["code"] == "tool_not_available"
    assert missing.is_error
    for result in outcome.results:
        assert "Traceback" not in result.content[0].text


def test_apps_pages_per_person_and_per_tenant(alice, bob, boards, live_portal, other_owner):
    sign_in(live_portal, alice, organization="acme")
    sign_in(live_portal, bob, organization="acme")
    alice_connection = McpConnection.objects.get(user=alice.user)

    mine = signed_in(alice).get("/apps/").content.decode()
    assert "Everyone else" not in mine  # members see their own apps only
    owners = signed_in(bob).get("/apps/").content.decode()
    assert "Everyone else" in owners and alice.user.email in owners

    # Another organization's owner cannot see or revoke it.
    assert signed_in(other_owner).post(f"/apps/{alice_connection.pk}/revoke/").status_code == 404
    assert McpConnection.objects.get(pk=alice_connection.pk).revoked_at is None
    assert signed_in(alice).get("/apps/settings/").status_code == 404
    assert signed_in(bob).get("/apps/settings/").status_code == 200


def test_admins_register_clients_for_their_organization(owner, db):
    page = signed_in(owner).post(
        "/apps/settings/",
        {
            "form": "client",
            "name": "Internal agent",
            "redirect_uris": "https://agent.acme.test/cb",
            "confidential": "on",
        },
    )
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    assert b"Client secret" in page.content
    refused = signed_in(owner).post(
        "/apps/settings/",
        follow=True,
        data={"form": "client", "name": "Bad", "redirect_uris": "http://agent.acme.test/cb"},
    )
    assert b"plain http only to localhost" in refused.content
    assert McpPolicy.objects.get().enabled is True
