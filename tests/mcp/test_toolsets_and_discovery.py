"""Toolsets and search-then-call over MCP (issue 25), with the SDK's own client: a toolset
URL lists only its tools and calls nothing else; a grant limited at consent stays limited;
the discovery surface finds and calls a tool under the same scopes, approvals and record;
a result too large comes in parts."""

from __future__ import annotations

import json

import httpx2
import pytest

from audit.models import AuditEvent
from connections import toolsets
from connections.models import StoredResult
from mcpserver.models import McpConnection
from tests.callers import as_member
from tests.factories import MembershipFactory
from tests.mcp_support import bearer, sign_in, use_tools

pytestmark = pytest.mark.django_db(transaction=True)

META = {"search_tools", "describe_tool", "call_tool", "read_result"}


def key_headers(api_key: str, who) -> dict[str, str]:
    return bearer(api_key, **{"X-Portal-Identifier": who.user.identifier})


@pytest.fixture
def reads_only(owner):
    return toolsets.create_toolset(
        caller=as_member(owner), name="monday-reads", providers=["monday"], access="read"
    )


def test_a_toolset_url_lists_only_its_tools_and_calls_nothing_else(
    alice, boards, api_key, live_portal, reads_only
):
    url = f"{live_portal.mcp_url}/t/monday-reads"
    create = ("monday_create_item", {"board_id": "1001", "item_name": "Past the toolset"})
    outcome = use_tools(
        url, headers=key_headers(api_key, alice), calls=(("monday_list_boards", {}), create)
    )
    listed = outcome.names - {"read_result"}
    assert "monday_list_boards" in listed and "monday_create_item" not in listed
    assert all(not t.annotations.destructive_hint for t in outcome.tools if t.name in listed)
    assert not outcome.results[0].is_error
    refused = outcome.results[1]
    assert refused.is_error and refused.structured_content["error"]["code"] == "tool_not_available"
    assert not [i for i in boards.items.values() if i["name"] == "Past the toolset"]
    # The same key at /mcp has every tool.
    assert (
        "monday_create_item"
        in use_tools(live_portal.mcp_url, headers=key_headers(api_key, alice)).names
    )


def test_an_unknown_or_foreign_toolset_url_is_a_404(
    alice, boards, api_key, live_portal, other_org, reads_only
):
    from tests.factories import MembershipFactory as Memberships

    stranger = Memberships(organization=other_org, role="owner")
    toolsets.create_toolset(caller=as_member(stranger), name="globex-only", providers=["github"])
    for name in ("nope", "globex-only"):
        answer = httpx2.post(
            f"{live_portal.mcp_url}/t/{name}",
            headers=key_headers(api_key, alice),
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        )
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "toolset_not_found"


def test_consent_limits_the_grant_to_a_toolset_and_the_apps_page_says_so(
    alice, owner, boards, live_portal, reads_only, member_client
):
    _, _, outcome = sign_in(
        live_portal, alice, organization="acme", choices={"toolset": "monday-reads"}
    )
    grant = McpConnection.objects.get()
    assert grant.toolset == reads_only
    assert "monday_list_boards" in outcome.names and "monday_create_item" not in outcome.names
    authorized = AuditEvent.objects.get(action="mcp.authorized")
    assert authorized.metadata["toolset"] == "monday-reads"
    page = member_client.get("/apps/").content.decode()
    assert "monday-reads" in page
    # A toolset in use cannot be deleted (that would widen the grant).
    from core.errors import Conflict

    with pytest.raises(Conflict):
        toolsets.delete_toolset(caller=as_member(owner), toolset=reads_only)


def test_discovery_finds_and_calls_a_tool_with_the_same_checks(alice, owner, boards, live_portal):
    storage, _, outcome = sign_in(
        live_portal, alice, organization="acme", choices={"tool_mode": "discovery"}
    )
    assert outcome.names == META
    headers = bearer(storage.tokens.access_token)
    found = use_tools(
        live_portal.mcp_url,
        headers=headers,
        calls=(
            ("search_tools", {"query": "add an item to a board", "limit": 3}),
            ("describe_tool", {"name": "monday_create_item"}),
            (
                "call_tool",
                {
                    "name": "monday_create_item",
                    "arguments": {"board_id": "1001", "item_name": "Found over MCP"},
                },
            ),
            ("call_tool", {"name": "monday_list_boards", "arguments": "{}"}),
            ("call_tool", {"name": "call_tool", "arguments": {}}),
        ),
    )
    search, describe, created, listed, nested = found.results
    assert search.structured_content["results"][0]["name"] == "monday_create_item"
    assert describe.structured_content["input_schema"]["required"]
    assert not created.is_error, created.content
    assert [i for i in boards.items.values() if i["name"] == "Found over MCP"]
    assert not listed.is_error and listed.structured_content["data"]["boards"]
    assert nested.is_error
    event = AuditEvent.objects.filter(action="tool.executed", target_id="monday_create_item").get()
    assert event.metadata["via"] == "mcp"


def test_call_tool_still_needs_the_write_scope(alice, boards, live_portal):
    storage, _, _ = sign_in(
        live_portal, alice, organization="acme", write=False, choices={"tool_mode": "discovery"}
    )
    answer = httpx2.post(
        live_portal.mcp_url,
        headers=bearer(storage.tokens.access_token),
        json={
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {
                "name": "call_tool",
                "arguments": {
                    "name": "monday_create_item",
                    "arguments": {"board_id": "1001", "item_name": "No scope"},
                },
            },
        },
    )
    assert answer.status_code == 403
    assert 'error="insufficient_scope"' in answer.headers["www-authenticate"]
    assert not [i for i in boards.items.values() if i["name"] == "No scope"]


def test_a_large_result_comes_in_parts_over_mcp(alice, boards, api_key, live_portal, settings):
    item = boards.add_item(1001, "Z" * (2 * 1024 * 1024) + " last words")
    headers = key_headers(api_key, alice)
    first = use_tools(
        live_portal.mcp_url, headers=headers, calls=(("monday_get_item", {"item_id": item}),)
    ).results[0]
    text = first.content[0].text
    assert len(text) <= settings.MCP_RESULT_LIMIT
    part = json.loads(text)
    assert part["result_truncated"] and part["total_chars"] > 2 * 1024 * 1024
    assert first.structured_content["data"]["handle"] == part["handle"]
    # The last page, read with read_result.
    stored = StoredResult.objects.get()
    last_offset = stored.content.index("last words") - 10
    tail = use_tools(
        live_portal.mcp_url,
        headers=headers,
        calls=(("read_result", {"handle": part["handle"], "offset": last_offset}),),
    ).results[0]
    assert "last words" in tail.structured_content["part"]
    assert tail.structured_content["next_offset"] is None
    # Another person's key cannot read it.
    other = MembershipFactory(organization=alice.organization)
    refused = use_tools(
        live_portal.mcp_url,
        headers=key_headers(api_key, other),
        calls=(("read_result", {"handle": part["handle"], "offset": 0}),),
    ).results[0]
    assert refused.is_error and refused.structured_content["error"]["code"] == "result_not_found"


def test_a_write_found_by_search_waits_for_the_same_approval(
    alice, owner, boards, api_key, live_portal
):
    from mcpserver import clients

    clients.update_policy(
        caller=as_member(owner), enabled=True, allowed_client_ids=[], approval_policy="always"
    )
    create = {
        "name": "monday_create_item",
        "arguments": {"board_id": "1001", "item_name": "Found, then approved"},
    }
    first = use_tools(
        live_portal.mcp_url, headers=key_headers(api_key, alice), calls=(("call_tool", create),)
    ).results[0]
    assert first.is_error
    assert first.structured_content["error"]["code"] == "approval_required"
    assert not [i for i in boards.items.values() if i["name"] == "Found, then approved"]
