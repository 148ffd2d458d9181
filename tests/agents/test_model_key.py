"""DESIGN §12 rule 16: the server-wide model key goes only to the server-wide model URL.

An agent with its own base URL must bring its own key (422 `api_key_required`), an
agent saved before the rule never gets the server key either, and the model client
follows no redirect (one could carry the key to another host).
"""

from __future__ import annotations

import pytest

from agents.models import Agent, AgentRun, RunStatus
from tests.agent_support import OPENAI_KEY
from tests.fakes.openai_server import OpenAIServer, reply
from tests.fakes.scripted import ScriptedServer

pytestmark = pytest.mark.django_db(transaction=True)

AGENT_KEY = "sk-agent-own-key-3c1d"


def start(api, agent) -> AgentRun:
    response = api.post(
        f"/api/v1/agents/{agent.pk}/runs", {"prompt": "hi", "identifier": "u1"}, format="json"
    )
    assert response.status_code == 202, response.json()
    return AgentRun.objects.get(pk=response.json()["id"])


def test_an_agent_with_its_own_base_url_and_no_key_is_refused(org, api, model):
    with OpenAIServer() as elsewhere:
        response = api.post(
            "/api/v1/agents", {"name": "x", "base_url": elsewhere.base_url}, format="json"
        )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "api_key_required"
    assert not Agent.objects.exists()


def test_clearing_the_key_of_an_agent_with_a_base_url_is_refused(org, api, model):
    with OpenAIServer() as elsewhere:
        created = api.post(
            "/api/v1/agents",
            {"name": "x", "base_url": elsewhere.base_url, "api_key": AGENT_KEY},
            format="json",
        )
        assert created.status_code == 201
        agent_id = created.json()["id"]
        cleared = api.patch(f"/api/v1/agents/{agent_id}", {"clear_api_key": True}, format="json")
    assert cleared.status_code == 422 and cleared.json()["error"]["code"] == "api_key_required"
    assert Agent.objects.get(pk=agent_id).has_secret("api_key_sealed")


def test_an_old_agent_with_a_base_url_and_no_key_never_gets_the_server_key(org, api, model):
    with OpenAIServer() as elsewhere:
        # Saved before the rule existed: straight into the table.
        agent = Agent.objects.create(organization=org, name="old", base_url=elsewhere.base_url)
        run = start(api, agent)
        run.refresh_from_db()
        assert elsewhere.requests == [] and elsewhere.headers == []
    assert run.status == RunStatus.FAILED
    assert "own API key" in run.status_reason
    assert model.requests == []


def test_an_agent_with_its_own_url_sends_its_own_key_there(org, api, model):
    with OpenAIServer() as elsewhere:
        elsewhere.queue(reply("from elsewhere"))
        created = api.post(
            "/api/v1/agents",
            {"name": "own", "base_url": elsewhere.base_url, "api_key": AGENT_KEY},
            format="json",
        )
        run = start(api, Agent.objects.get(pk=created.json()["id"]))
        run.refresh_from_db()
        sent = [h.get("authorization") for h in elsewhere.headers]
    assert run.status == RunStatus.SUCCEEDED, run.status_reason
    assert sent == [f"Bearer {AGENT_KEY}"]
    assert OPENAI_KEY not in str(elsewhere.raw_requests)
    assert model.requests == []


def test_the_model_client_follows_no_redirect(org, api, agent, model, settings):
    with ScriptedServer() as redirector:
        redirector.answer(307, location=f"{model.base_url}/chat/completions")
        settings.OPENAI_BASE_URL = f"{redirector.origin}/v1"
        run = start(api, agent)
        run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "307" in run.status_reason
    assert model.requests == []  # the key never followed the redirect
