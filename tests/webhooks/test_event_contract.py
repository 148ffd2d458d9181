"""DESIGN §13 rule 27 for webhooks: every event type the API lists
(`GET /api/v1/webhook-event-types`) is caused here through the public API or a page, and
arrives as a signed delivery that Standard Webhooks verifiers accept — the Python library
and the Node one (a client nobody here wrote) — with a payload valid against that type's
schema as the API serves it. A new event type nobody can cause, or one whose payload
breaks its schema, fails here. An event that cannot be built is logged and counted,
never dropped silently."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import jsonschema
import pytest
from django.conf import settings
from standardwebhooks.webhooks import Webhook

from agents.models import AgentRun
from audit import trail
from connections.models import ConnectedAccount
from core.models import TaskFailure
from tests.agent_support import decision
from tests.fakes.openai_server import call, reply
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.fixtures import signed_in
from tests.monday_support import MONDAY_BOB, connect_via_portal
from tests.webhooks.test_webhooks import expire_alice
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db(transaction=True)

CLIENTS = Path(settings.BASE_DIR) / "tests" / "clients"
VERIFY_URL = "https://app.customer.example/verify-user"
NODE_VERIFY = """
const { Webhook } = require("standardwebhooks");
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const failed = [];
for (const delivery of input.deliveries) {
  try { new Webhook(input.secret).verify(delivery.body, delivery.headers); }
  catch (error) { failed.push(`${delivery.type}: ${error.message}`); }
}
process.stdout.write(JSON.stringify(failed));
"""


@pytest.fixture
def receiver():
    with WebhookReceiver() as server:
        yield server


def _cause_every_event(api, alice, owner, monday, agent, model, endpoint_id) -> None:
    """Each event type, by what a person or a backend does."""
    # connected_account.created: a backend starts connecting a customer's user.
    link = api.post(
        "/api/v1/connected-accounts/authorization-link",
        {"connection_name": "monday", "identifier": "customer-7", "user_verify_url": VERIFY_URL},
        format="json",
    )
    assert link.status_code == 201, link.json()
    # connection.updated: an admin changes the connection.
    assert (
        api.patch("/api/v1/connections/monday", {"enabled": True}, format="json").status_code == 200
    )
    # tool.executed (opt-in): a backend runs a tool as Alice.
    executed = api.post(
        "/api/v1/tools/execute",
        {"tool_name": "monday_get_me", "identifier": alice.user.identifier},
        format="json",
    )
    assert executed.status_code == 200, executed.json()
    # agent_run.started, awaiting_approval, finished: a run that asks before a write.
    agent.approval_policy = "always"
    agent.save()
    model.queue(call("monday_create_item", board_id="1001", item_name="Contract item"))
    started = api.post(
        f"/api/v1/agents/{agent.pk}/runs",
        {"prompt": "Create it", "identifier": alice.user.identifier},
        format="json",
    )
    assert started.status_code == 202, started.json()
    run = AgentRun.objects.get(pk=started.json()["id"])
    model.queue(reply("Created it."))
    approved = api.post(f"/api/v1/agent-runs/{run.pk}/approve", decision(run), format="json")
    assert approved.status_code == 200, approved.json()
    # agent_run.needs_connection: a run for someone with nothing connected.
    nobody = api.post(
        f"/api/v1/agents/{agent.pk}/runs",
        {"prompt": "Anything", "identifier": owner.user.identifier},
        format="json",
    )
    assert nobody.json()["status"] == "needs_connection", nobody.json()
    # connected_account.status_changed: her tokens are revoked at the provider.
    expire_alice(monday, alice)
    # connected_account.identity_changed: Alice reconnects as another monday.com user.
    assert connect_via_portal(signed_in(alice), MONDAY_BOB).status_code == 302
    # connected_account.disconnected: the backend disconnects her account.
    account = ConnectedAccount.objects.get(identifier=alice.user.identifier)
    assert api.delete(f"/api/v1/connected-accounts/{account.pk}").status_code == 200
    # webhook.test: the Send test event button's API.
    assert api.post(f"/api/v1/webhook-endpoints/{endpoint_id}/test").status_code in (200, 201, 202)


def test_every_event_type_is_delivered_signed_and_valid(
    api, alice, owner, monday, agent, model, receiver, settings
):
    settings.WEBHOOK_RETRY_SCHEDULE = []  # each delivery is tried once: no retry noise
    catalog = api.get("/api/v1/webhook-event-types?limit=200").json()
    types = {item["type"]: item for item in catalog["results"]}
    created = api.post(
        "/api/v1/webhook-endpoints",
        {"url": receiver.url, "event_types": sorted(types)},  # opt-in types too
        format="json",
    )
    assert created.status_code == 201, created.json()
    secret = created.json()["secret"]

    _cause_every_event(api, alice, owner, monday, agent, model, created.json()["id"])

    delivered = {}
    for request in receiver.received:
        payload = Webhook(secret).verify(request.body, request.headers)
        jsonschema.validate(payload, types[payload["type"]]["schema"])
        delivered.setdefault(payload["type"], request)
    assert set(delivered) == set(types), f"never delivered: {set(types) - set(delivered)}"
    assert not TaskFailure.objects.exists()

    if not (CLIENTS / "node_modules" / "standardwebhooks").exists():
        if os.environ.get("REQUIRE_CONTRACT_CLIENTS") == "1":
            pytest.fail("tests/clients is not installed: `make test` runs npm ci there.")
        pytest.skip("tests/clients is not installed (`make test` runs npm ci there)")
    verified = subprocess.run(
        ["node", "-e", NODE_VERIFY],
        input=json.dumps(
            {
                "secret": secret,
                "deliveries": [
                    {"type": t, "body": r.body.decode(), "headers": r.headers}
                    for t, r in delivered.items()
                ],
            }
        ),
        capture_output=True,
        text=True,
        cwd=CLIENTS,
        timeout=60,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr[-2000:]
    assert json.loads(verified.stdout) == []


def test_an_event_that_cannot_be_built_is_logged_and_counted(org, owner, api, receiver, caplog):
    api.post("/api/v1/webhook-endpoints", {"url": receiver.url}, format="json")
    trail.record(
        action="connection.updated",
        organization=org,
        actor=trail.Actor.system("test"),
        target_type="connection",
        target_id="no-such-connection",
    )
    assert not WebhookEvent.objects.exists()
    failure = TaskFailure.objects.get()
    assert "connection.updated" in failure.task
    assert "could not be built" in caplog.text
