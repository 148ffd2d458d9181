"""Toolsets through the API and the pages (issue 25): create, read, change, delete, each
audited; bad input refused with a clear error; a toolset in use cannot be deleted; an
agent limited to one is offered only its tools."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from agents import configuration, toolbox
from audit.models import AuditEvent
from tests.callers import as_identifier


def test_the_api_creates_reads_changes_and_deletes_a_toolset(api):
    created = api.post(
        "/api/v1/toolsets",
        {"name": "support", "providers": ["slack"], "tools": ["github_get_issue"]},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["access"] == "read" and "slack_list_channels" in body["tool_names"]
    assert (
        "github_get_issue" in body["tool_names"] and "slack_post_message" not in body["tool_names"]
    )
    listed = api.get("/api/v1/toolsets").json()
    assert [t["name"] for t in listed["results"]] == ["support"] and "next_cursor" in listed
    changed = api.patch("/api/v1/toolsets/support", {"access": "write"}, format="json")
    assert changed.status_code == 200 and "slack_post_message" in changed.json()["tool_names"]
    assert api.delete("/api/v1/toolsets/support").status_code == 204
    assert api.get("/api/v1/toolsets/support").status_code == 404
    actions = list(
        AuditEvent.objects.filter(target_type="toolset")
        .order_by("created_at")
        .values_list("action", flat=True)
    )
    assert actions == ["toolset.created", "toolset.updated", "toolset.deleted"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"name": "Bad Name!"}, "invalid_name"),
        ({"name": "x", "providers": ["nope"]}, "unknown_provider"),
        ({"name": "x", "tools": ["no_such_tool"]}, "unknown_tool"),
        ({"name": "x", "access": "admin"}, "invalid_access"),
    ],
)
def test_bad_toolsets_are_refused_and_change_nothing(api, body, code):
    answer = api.post("/api/v1/toolsets", body, format="json")
    assert answer.status_code in (400, 422) and answer.json()["error"]["code"] == code
    assert api.get("/api/v1/toolsets").json()["results"] == []


def test_members_read_toolsets_but_only_managers_change_them(api, member):
    api.post("/api/v1/toolsets", {"name": "reads"}, format="json")
    as_member = APIClient()
    as_member.force_login(member.user)
    assert as_member.get("/api/v1/toolsets/reads").status_code == 200
    refused = as_member.post("/api/v1/toolsets", {"name": "mine"}, format="json")
    assert refused.status_code == 403
    assert as_member.delete("/api/v1/toolsets/reads").status_code == 403


def test_an_agent_limited_to_a_toolset_is_offered_only_its_tools(api, org, alice, boards):
    api.post("/api/v1/toolsets", {"name": "reads", "providers": ["monday"]}, format="json")
    made = api.post("/api/v1/agents", {"name": "Reader", "toolset": "reads"}, format="json")
    assert made.status_code == 201 and made.json()["toolset"] == "reads"
    agent = configuration.get_agent(org, made.json()["id"])
    offered = toolbox.agent_tools(agent, as_identifier(org, alice.user.identifier))
    assert "monday_list_boards" in offered and "monday_create_item" not in offered
    # In use: not deleted (the agent would be widened).
    refused = api.delete("/api/v1/toolsets/reads")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "toolset_in_use"
    unknown = api.post("/api/v1/agents", {"name": "X", "toolset": "nope"}, format="json")
    assert unknown.status_code in (400, 422)
    assert unknown.json()["error"]["code"] == "unknown_toolset"
    # Cleared with null.
    cleared = api.patch(f"/api/v1/agents/{agent.pk}", {"toolset": None}, format="json")
    assert cleared.status_code == 200 and cleared.json()["toolset"] is None


def test_an_admin_makes_a_toolset_on_its_page_and_members_see_it(owner_client, member_client):
    page = owner_client.get("/toolsets/")
    assert page.status_code == 200 and "New toolset" in page.content.decode()
    made = owner_client.post(
        "/toolsets/", {"name": "boards", "providers": ["monday"], "tools": "", "access": "read"}
    )
    assert made.status_code == 302 and made["Location"] == "/toolsets/boards/"
    detail = owner_client.get("/toolsets/boards/").content.decode()
    assert "monday_list_boards" in detail and "monday_create_item" not in detail
    assert "/mcp/t/boards" in detail
    refused = owner_client.post(
        "/toolsets/", {"name": "other", "tools": "no_such_tool", "access": "read"}
    )
    assert refused.status_code == 200 and "Unknown tools: no_such_tool" in refused.content.decode()
    seen = member_client.get("/toolsets/").content.decode()
    assert "boards" in seen and "New toolset" not in seen
    assert member_client.post("/toolsets/boards/delete/").status_code == 404
