"""The sandbox: providers the portal serves itself, through the same path as real ones —
catalog entry, OAuth client, vault, the one outbound transport, tools — with per-person
permissions, a model that follows scripts, test keys, and resets."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from agents import configuration as agent_configuration
from agents.models import AgentRun, RunStatus
from audit.models import AuditEvent
from connections.configuration import create_connection
from connections.models import AccountStatus, ConnectedAccount, Connection
from connections.providers import providers
from core import sandbox
from core.errors import Invalid
from portal.apikeys import mint_api_key
from portal.callers import Caller
from portal.models import Membership
from sandbox import worlds
from sandbox.models import SandboxWorld
from tests.fixtures import signed_in
from tests.sandbox.sandbox_support import connect_sandbox, path_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sandbox_monday(owner, member, owner_client):
    response = owner_client.post("/sandbox/connections/monday/")
    assert response.status_code == 302, response.content.decode()[:500]
    return Connection.objects.get(name="monday-sandbox")


def boards_seen(client) -> set[str]:
    response = client.post(
        "/api/v1/tools/execute",
        {"tool_name": "monday_list_boards", "params": {}},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content.decode()[:500]
    return {board["name"] for board in response.json()["data"]["boards"]}


def test_a_sandbox_connection_takes_one_click_and_shows_as_sandbox(sandbox_monday, api):
    assert sandbox_monday.sandbox and sandbox_monday.client_id.startswith("sandbox-")
    assert sandbox_monday.token_url.endswith(f".{sandbox.HOST}/oauth_ms/oauth/token")
    response = api.get("/api/v1/connections")
    listed = response.json()["results"]
    assert [(c["name"], c["sandbox"]) for c in listed] == [("monday-sandbox", True)]
    secret = sandbox_monday.get_secret("client_secret_sealed")
    assert secret and secret not in response.content.decode()


def test_each_person_sees_in_the_sandbox_what_their_sandbox_person_may(
    sandbox_monday, owner, member, owner_client, member_client
):
    for client in (owner_client, member_client):
        assert connect_sandbox(client, "monday-sandbox").status_code == 302
    assert set(
        ConnectedAccount.objects.filter(connection=sandbox_monday).values_list("status", flat=True)
    ) == {AccountStatus.ACTIVE}
    assert boards_seen(owner_client) == {"Launch plan", "Leadership"}
    assert boards_seen(member_client) == {"Launch plan"}
    refused = member_client.post(
        "/api/v1/tools/execute",
        {"tool_name": "monday_list_items", "params": {"board_id": "4002"}},
        content_type="application/json",
    )
    assert refused.status_code == 403, refused.content.decode()[:300]


def test_a_member_cannot_sign_in_to_the_sandbox_as_someone_else(sandbox_monday, member_client):
    start = member_client.post("/connected-accounts/monday-sandbox/connect/")
    consent = path_of(start["Location"])
    page = member_client.get(consent)
    assert b'name="person"' not in page.content  # they are themselves, no choice
    owner_id = str(worlds.person_id("monday", 0))
    allowed = member_client.post(consent, {"decision": "approve", "person": owner_id})
    assert member_client.get(path_of(allowed["Location"])).status_code == 302
    assert boards_seen(member_client) == {"Launch plan"}


def test_the_consent_page_sends_people_back_to_this_portal_only(sandbox_monday, member_client):
    start = member_client.post("/connected-accounts/monday-sandbox/connect/")
    consent = path_of(start["Location"])
    elsewhere = consent.replace(
        "redirect_uri=http%3A%2F%2Ftestserver", "redirect_uri=https%3A%2F%2Fevil.example"
    )
    assert elsewhere != consent
    assert member_client.post(elsewhere, {"decision": "approve"}).status_code == 400


def test_what_an_agent_writes_persists_and_a_reset_brings_the_sample_back(
    sandbox_monday, owner, owner_client
):
    connect_sandbox(owner_client, "monday-sandbox")
    created = owner_client.post(
        "/api/v1/tools/execute",
        {
            "tool_name": "monday_create_item",
            "params": {"board_id": "4001", "item_name": "Sandbox item"},
        },
        content_type="application/json",
    )
    assert created.status_code == 200, created.content.decode()[:500]
    world = SandboxWorld.objects.get(connection=sandbox_monday)
    page = owner_client.get(f"/sandbox/w/{world.pk}/")
    assert page.status_code == 200 and b"Sandbox item" in page.content
    assert owner_client.post("/sandbox/reset/").status_code == 302
    page = owner_client.get(f"/sandbox/w/{world.pk}/")
    assert b"Sandbox item" not in page.content and b"Draft the announcement" in page.content


def test_another_organization_sees_nothing_of_this_sandbox(sandbox_monday, other_owner):
    world = SandboxWorld.objects.get(connection=sandbox_monday)
    other = signed_in(other_owner)
    assert other.get(f"/sandbox/w/{world.pk}/").status_code == 404


def test_a_tampered_world_is_never_unpickled(sandbox_monday):
    world = SandboxWorld.objects.get(connection=sandbox_monday)
    state = bytearray(bytes(world.state))
    state[-1] ^= 1
    with pytest.raises(worlds.WorldTampered):
        worlds.load(bytes(state))


def test_the_sandbox_host_is_never_a_tenants_choice(org):
    with pytest.raises(Invalid):
        create_connection(
            org=org,
            name="sneaky",
            provider="monday",
            client_id="x",
            client_secret="y",
            token_url=f"https://w-00000000-0000-0000-0000-000000000000.{sandbox.HOST}/oauth_ms/oauth/token",
        )


@pytest.mark.parametrize("key", sorted(providers()))
def test_every_catalog_provider_connects_in_the_sandbox(key, owner, owner_client):
    response = owner_client.post(f"/sandbox/connections/{key}/")
    assert response.status_code == 302
    callback = connect_sandbox(owner_client, f"{key}-sandbox")
    assert callback.status_code == 302, callback.content.decode()[:500]
    account = ConnectedAccount.objects.get(connection__name=f"{key}-sandbox")
    assert account.status == AccountStatus.ACTIVE, account.status_reason
    assert account.provider_account_label


# --- test keys --------------------------------------------------------------------------


@pytest.fixture
def test_api(owner) -> APIClient:
    _, plaintext = mint_api_key(caller=Caller.of_member(owner), name="ci", test_mode=True)
    assert plaintext.startswith("ap_test_")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


def test_a_test_key_uses_sandbox_connections_only(sandbox_monday, org, owner, test_api):
    create_connection(org=org, name="monday", provider="monday", client_id="x", client_secret="y")
    live = test_api.post(
        "/api/v1/connected-accounts/authorization-link",
        {"connection_name": "monday", "identifier": owner.user.identifier},
        format="json",
    )
    assert live.status_code == 403 and live.json()["error"]["code"] == "test_key_live_connection"
    sandboxed = test_api.post(
        "/api/v1/connected-accounts/authorization-link",
        {"connection_name": "monday-sandbox", "identifier": owner.user.identifier},
        format="json",
    )
    assert sandboxed.status_code in (200, 201), sandboxed.content.decode()[:500]


def test_a_key_is_only_accepted_in_its_own_mode(owner):
    _, plaintext = mint_api_key(caller=Caller.of_member(owner), name="live")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + plaintext.replace("ap_", "ap_test_", 1))
    assert client.get("/api/v1/connections").status_code == 401


# --- the sandbox model --------------------------------------------------------------------


def test_the_sandbox_model_follows_a_script_and_acts_as_the_user(
    sandbox_monday, org, owner, owner_client, api
):
    connect_sandbox(owner_client, "monday-sandbox")
    agent = agent_configuration.create_agent(org=org, name="Sandboxed", sandbox_model=True)
    script = api.post(
        "/api/v1/sandbox/scripts",
        {
            "match": "launch task",
            "steps": [
                {
                    "tool": "monday_create_item",
                    "arguments": {"board_id": "4001", "item_name": "Launch task"},
                }
            ],
            "final": "Created the launch task.",
        },
        format="json",
    )
    assert script.status_code == 201, script.content.decode()[:500]
    response = owner_client.post(f"/agents/{agent.pk}/", {"prompt": "Please add the launch task"})
    run = AgentRun.objects.get(pk=response["Location"].rstrip("/").split("/")[-1])
    assert run.status == RunStatus.SUCCEEDED, run.status_reason
    assert run.final_text == "Created the launch task."
    world = SandboxWorld.objects.get(connection=sandbox_monday)
    assert b"Launch task" in owner_client.get(f"/sandbox/w/{world.pk}/").content
    assert AuditEvent.objects.filter(
        action="tool.executed", target_id="monday_create_item"
    ).exists()


def test_without_a_script_the_sandbox_model_calls_only_what_it_is_told(
    sandbox_monday, org, owner, owner_client
):
    connect_sandbox(owner_client, "monday-sandbox")
    agent = agent_configuration.create_agent(org=org, name="Sandboxed", sandbox_model=True)
    response = owner_client.post(f"/agents/{agent.pk}/", {"prompt": "Tidy up my boards"})
    run = AgentRun.objects.get(pk=response["Location"].rstrip("/").split("/")[-1])
    assert run.status == RunStatus.SUCCEEDED and "sandbox model" in run.final_text
    assert "monday_list_boards" in run.final_text and not run.steps.filter(kind="tool").exists()
    response = owner_client.post(f"/agents/{agent.pk}/", {"prompt": "call monday_list_boards {}"})
    run = AgentRun.objects.get(pk=response["Location"].rstrip("/").split("/")[-1])
    assert run.status == RunStatus.SUCCEEDED and "Leadership" in run.final_text


def test_the_tour_seed_is_idempotent_and_puts_the_demo_agent_on_the_sandbox_model(
    org, owner, settings
):
    from io import StringIO

    from django.core.management import call_command

    from agents.models import Agent

    settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL = "", ""
    call_command("seed_demo_agent", "--org", org.slug, stdout=StringIO())
    for _ in range(2):
        call_command("seed_sandbox", "--org", org.slug, stdout=StringIO())
    assert sorted(Connection.objects.filter(organization=org).values_list("name", flat=True)) == [
        "github-sandbox",
        "monday-sandbox",
        "slack-sandbox",
    ]
    assert SandboxWorld.objects.filter(organization=org).count() == 3
    demo = Agent.objects.get(organization=org, name="Assistant")
    assert demo.sandbox_model and demo.approval_policy == Agent.Approval.ALWAYS
    assert Membership.objects.filter(
        organization=org, user__email="member@acme.test", role="member"
    ).exists()
