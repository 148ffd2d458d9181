"""Agents: owners/admins configure them on pages and over the API; bad input changes nothing;
the model API key override is write-only; the run page polls while a run works."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from agents.models import Agent, AgentRun, RunStatus
from agents.templatetags.agent_text import safe_markdown
from audit.models import AuditEvent
from tests.fixtures import signed_in

MODEL_KEY = "sk-agent-override-9f8e7d"


def test_api_create_get_patch_delete(org, api, monday_connection):
    created = api.post(
        "/api/v1/agents",
        {
            "name": "Planner",
            "instructions": "Plan things.",
            "allowed_connections": ["monday"],
            "allowed_tools": ["monday_create_item", "monday_list_boards"],
            "approval_policy": "always",
            "api_key": MODEL_KEY,
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["model"] == "gpt-4o" and body["max_steps"] == 8
    assert body["has_api_key"] is True and "api_key" not in body
    assert MODEL_KEY not in created.content.decode()
    agent = Agent.objects.get(pk=body["id"])
    assert MODEL_KEY not in agent.api_key_sealed and agent.get_secret("api_key_sealed") == MODEL_KEY

    patched = api.patch(
        f"/api/v1/agents/{agent.pk}", {"temperature": 0.7, "max_steps": 3}, format="json"
    )
    assert patched.status_code == 200
    assert patched.json()["temperature"] == 0.7 and patched.json()["has_api_key"] is True
    cleared = api.patch(f"/api/v1/agents/{agent.pk}", {"clear_api_key": True}, format="json")
    assert cleared.json()["has_api_key"] is False

    listed = api.get("/api/v1/agents").json()
    assert [a["name"] for a in listed["results"]] == ["Planner"]
    assert api.delete(f"/api/v1/agents/{agent.pk}").status_code == 204
    assert not Agent.objects.exists()
    actions = list(
        AuditEvent.objects.for_org(org)
        .filter(target_type="agent")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["agent.created", "agent.updated", "agent.updated", "agent.deleted"]
    assert MODEL_KEY not in str(list(AuditEvent.objects.values_list("metadata", flat=True)))


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"name": ""}, 400, "validation_error"),
        ({"name": "x", "temperature": 5}, 422, "invalid_temperature"),
        ({"name": "x", "max_steps": 0}, 422, "invalid_max_steps"),
        ({"name": "x", "max_steps": "many"}, 400, "validation_error"),
        ({"name": "x", "approval_policy": "sometimes"}, 422, "invalid_approval_policy"),
        ({"name": "x", "allowed_tools": ["rm_rf"]}, 422, "unknown_tool"),
        ({"name": "x", "allowed_connections": ["github"]}, 422, "unknown_connection"),
        ({"name": "x", "base_url": "http://models.example.com/v1"}, 422, "insecure_url"),
        ({"name": "x", "base_url": "ftp://models"}, 422, "invalid_url"),
        ({"name": "x", "allowed_tools": "monday_get_me; DROP"}, 400, "validation_error"),
    ],
)
def test_bad_agent_input_is_refused_and_creates_nothing(
    org, api, monday_connection, payload, status, code
):
    response = api.post("/api/v1/agents", payload, format="json")
    assert response.status_code == status, response.json()
    error = response.json()["error"]
    assert error["message"] and error["code"] == code
    assert not Agent.objects.exists()


def test_duplicate_names_conflict(org, api):
    assert api.post("/api/v1/agents", {"name": "Same"}, format="json").status_code == 201
    again = api.post("/api/v1/agents", {"name": "Same"}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "duplicate_name"
    assert Agent.objects.count() == 1


def test_members_read_agents_but_cannot_change_them(org, member, agent):
    client = APIClient()
    client.force_login(member.user)
    assert client.get("/api/v1/agents").status_code == 200
    assert client.get(f"/api/v1/agents/{agent.pk}").status_code == 200
    assert client.post("/api/v1/agents", {"name": "Mine"}, format="json").status_code == 403
    assert (
        client.patch(f"/api/v1/agents/{agent.pk}", {"name": "Z"}, format="json").status_code == 403
    )
    assert client.delete(f"/api/v1/agents/{agent.pk}").status_code == 403
    agent.refresh_from_db()
    assert agent.name == "Assistant"

    pages = signed_in(member)
    assert pages.get("/agents/").status_code == 200
    assert pages.get("/agents/new/").status_code == 404
    assert pages.get(f"/agents/{agent.pk}/edit/").status_code == 404
    assert pages.post(f"/agents/{agent.pk}/delete/").status_code == 404
    assert Agent.objects.filter(pk=agent.pk).exists()


def test_admin_creates_and_edits_an_agent_on_pages(org, admin, monday_connection):
    client = signed_in(admin)
    form = client.get("/agents/new/").content.decode()
    assert "monday_create_item" in form and 'value="monday"' in form
    response = client.post(
        "/agents/new/",
        {
            "name": "Marketing helper",
            "instructions": "Help the marketing team.",
            "model": "gpt-4o-mini",
            "temperature": "0.3",
            "max_steps": "6",
            "allowed_connections": ["monday"],
            "allowed_tools": ["monday_create_item"],
            "approval_policy": "always",
            "base_url": "",
            "api_key": MODEL_KEY,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    agent = Agent.objects.get(name="Marketing helper")
    assert agent.allowed_tools == ["monday_create_item"] and agent.model == "gpt-4o-mini"
    assert agent.has_secret("api_key_sealed")

    edit_page = client.get(f"/agents/{agent.pk}/edit/").content.decode()
    assert MODEL_KEY not in edit_page and "stored (encrypted)" in edit_page
    bad = client.post(
        f"/agents/{agent.pk}/edit/",
        {"name": "Marketing helper", "model": "gpt-4o", "temperature": "9", "max_steps": "6"},
    )
    assert bad.status_code == 200 and "Ensure this value is less than or equal to 2" in (
        bad.content.decode()
    )
    agent.refresh_from_db()
    assert agent.temperature == 0.3

    client.post(f"/agents/{agent.pk}/delete/")
    assert not Agent.objects.exists()


def test_the_run_page_polls_while_running_and_stops_when_finished(org, member, agent):
    client = signed_in(member)
    run = AgentRun.objects.create(
        organization=org,
        agent=agent,
        user=member.user,
        identifier=member.user.identifier,
        prompt="hi",
        status=RunStatus.RUNNING,
    )
    fragment = client.get(f"/runs/{run.pk}/progress/").content.decode()
    assert 'hx-trigger="every 1s"' in fragment and "Working" in fragment
    run.status, run.final_text = RunStatus.SUCCEEDED, "All done"
    run.save()
    fragment = client.get(f"/runs/{run.pk}/progress/").content.decode()
    assert "hx-trigger" not in fragment and "All done" in fragment


def test_run_list_filters(org, owner, member, agent):
    other = Agent.objects.create(organization=org, name="Other")
    for a, status in ((agent, RunStatus.SUCCEEDED), (other, RunStatus.FAILED)):
        AgentRun.objects.create(
            organization=org,
            agent=a,
            user=member.user,
            identifier=member.user.identifier,
            prompt=f"prompt for {a.name}",
            status=status,
        )
    client = signed_in(owner)
    page = client.get("/runs/", {"agent_id": str(agent.pk)}).content.decode()
    assert "prompt for Assistant" in page and "prompt for Other" not in page
    page = client.get("/runs/", {"status": "failed"}).content.decode()
    assert "prompt for Other" in page and "prompt for Assistant" not in page
    page = client.get("/runs/", {"user_id": str(owner.user.pk)}).content.decode()
    assert "prompt for" not in page
    # Junk filter values are ignored on pages, refused by the API.
    assert client.get("/runs/", {"agent_id": "nope", "status": "weird"}).status_code == 200
    api = APIClient()
    api.force_login(owner.user)
    bad = api.get("/api/v1/agent-runs", {"agent_id": "nope"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_agent_id"
    assert api.get("/api/v1/agent-runs", {"status": "weird"}).status_code == 422


def test_empty_and_oversized_prompts_are_refused(org, member, agent):
    client = signed_in(member)
    assert (
        "This field is required"
        in client.post(f"/agents/{agent.pk}/", {"prompt": ""}).content.decode()
    )
    api = APIClient()
    api.force_login(member.user)
    response = api.post(f"/api/v1/agents/{agent.pk}/runs", {"prompt": "x" * 20_001}, format="json")
    assert response.status_code == 400
    assert not AgentRun.objects.exists()


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("plain", "<p>plain</p>"),
        ("<b>x</b>", "<p>&lt;b&gt;x&lt;/b&gt;</p>"),
        ("**bold** and `code`", "<p><strong>bold</strong> and <code>code</code></p>"),
        ("- a\n- b", "<ul><li>a</li><li>b</li></ul>"),
        ("1. a\n2. b", "<ol><li>a</li><li>b</li></ol>"),
        (
            "[site](https://x.test/a)",
            '<p><a href="https://x.test/a" rel="noopener nofollow">site</a></p>',
        ),
        ("[evil](javascript:alert(1))", "<p>[evil](javascript:alert(1))</p>"),
        (
            '[q](https://x.test/"onmouseover=1)',
            '<p><a href="https://x.test/&quot;onmouseover=1" rel="noopener nofollow">q</a></p>',
        ),
    ],
)
def test_safe_markdown(text, html):
    assert safe_markdown(text) == html


def test_seed_demo_agent_is_idempotent(org):
    from io import StringIO

    from django.core.management import CommandError, call_command

    call_command("seed_demo_agent", "--org", org.slug, stdout=StringIO())
    out = StringIO()
    call_command("seed_demo_agent", "--org", org.slug, stdout=out)
    assert "already exists" in out.getvalue()
    assert Agent.objects.for_org(org).filter(name="Assistant").count() == 1
    with pytest.raises(CommandError):
        call_command("seed_demo_agent", "--org", "nope", stdout=StringIO())
