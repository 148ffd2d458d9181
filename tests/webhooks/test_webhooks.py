"""Outbound webhooks: signed per Standard Webhooks (verified with its library), written in
the transaction of the change (outbox), retried, disabled on 410 or after days of
failure, secret rotation, the delivery log and replays, and never a secret in a payload."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import jsonschema
import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from agents.models import AgentRun
from audit.models import AuditEvent
from connections import accounts, errors, tokens
from connections.models import ConnectedAccount
from tests.agent_support import OPENAI_KEY, decision
from tests.callers import as_member
from tests.fakes.openai_server import call, reply
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.monday_support import CLIENT_SECRET, MONDAY_ALICE
from webhooks import endpoints, events, tasks
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def receiver():
    with WebhookReceiver() as server:
        yield server


def subscribe(owner, receiver, **changes):
    endpoint, secret = endpoints.create_endpoint(
        caller=as_member(owner), url=receiver.url, description="backend", **changes
    )
    return endpoint, secret


def payloads(receiver, event_type: str | None = None) -> list[dict]:
    found = [json.loads(r.body) for r in receiver.received]
    return [p for p in found if event_type is None or p["type"] == event_type]


def expire_alice(monday, alice) -> ConnectedAccount:
    account = ConnectedAccount.objects.get(identifier=alice.user.identifier)
    monday.revoke_all_for_user(MONDAY_ALICE)
    ConnectedAccount.objects.filter(pk=account.pk).update(
        token_issued_at=timezone.now() - timedelta(hours=1),
        token_expires_at=timezone.now() + timedelta(seconds=30),
    )
    with pytest.raises(errors.NeedsReauthorization):
        tokens.get_access_token(account)
    return account


def test_an_account_going_expired_reaches_the_backend_signed(alice, owner, monday, receiver):
    _, secret = subscribe(owner, receiver)
    expire_alice(monday, alice)

    (received,) = [r for r in receiver.received if b"status_changed" in r.body]
    payload = Webhook(secret).verify(received.body, received.headers)
    assert payload["type"] == "connected_account.status_changed"
    jsonschema.validate(payload, events.envelope_schema(payload["type"]))
    data = payload["data"]
    assert (data["old_status"], data["new_status"]) == ("ACTIVE", "EXPIRED")
    assert data["account"]["status"] == "EXPIRED" and data["account"]["connection"] == "monday"
    assert data["reconnect_link"].startswith("http://testserver/")
    assert received.headers["webhook-id"] == payload["id"]
    assert abs(int(received.headers["webhook-timestamp"]) - time.time()) < 60
    delivery = WebhookDelivery.objects.get(event__type="connected_account.status_changed")
    assert delivery.status == "delivered" and delivery.tries.get().status_code == 200
    with pytest.raises(WebhookVerificationError):  # a tampered body does not verify
        Webhook(secret).verify(received.body.replace(b"EXPIRED", b"ACTIVE!"), received.headers)


def test_a_rolled_back_change_sends_nothing_and_a_committed_one_always_does(
    org, owner, member, monday_connection, receiver
):
    subscribe(owner, receiver)

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        accounts.get_or_create_connected_account(
            organization=org, connection=monday_connection, identifier=member.user.identifier
        )
        assert WebhookEvent.objects.count() == 1  # written inside the transaction…
        raise Boom
    assert WebhookEvent.objects.count() == 0  # …and gone with it
    assert receiver.received == []

    accounts.get_or_create_connected_account(
        organization=org, connection=monday_connection, identifier=member.user.identifier
    )
    assert [p["type"] for p in payloads(receiver)] == ["connected_account.created"]


def due_now() -> None:
    """The backoff has passed (instead of sleeping through it): retries are due."""
    WebhookDelivery.objects.filter(status="pending").update(next_attempt_at=timezone.now())


def test_failures_are_retried_with_backoff_then_fail(alice, owner, receiver, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [30, 30]  # each retry is made due by the test itself
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    endpoint, _ = subscribe(owner, receiver)
    receiver.answer_next((500, 0), (200, 1.5))  # an error, then too slow

    endpoints.send_test_event(caller=as_member(owner), endpoint_id=endpoint.pk)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.last_status_code == 500
    assert delivery.next_attempt_at > timezone.now()  # backed off

    due_now()
    tasks.dispatch()
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.last_status_code is None
    assert "did not answer in time" in delivery.last_error

    due_now()
    tasks.dispatch()
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 3
    assert [t.status_code for t in delivery.tries.order_by("at")] == [500, None, 200]
    # The same message id each time: receivers de-duplicate on it.
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    assert WebhookEndpoint.objects.get().failing_since is None


def test_an_exhausted_schedule_fails_the_delivery(owner, receiver, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [0.1]
    endpoint, _ = subscribe(owner, receiver)
    receiver.answer_next((503, 0), (503, 0))
    endpoints.send_test_event(caller=as_member(owner), endpoint_id=endpoint.pk)
    due_now()
    tasks.dispatch()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and delivery.attempts == 2


def test_410_gone_disables_the_endpoint(owner, receiver):
    endpoint, _ = subscribe(owner, receiver)
    receiver.answer_next((410, 0))
    endpoints.send_test_event(caller=as_member(owner), endpoint_id=endpoint.pk)
    endpoint.refresh_from_db()
    assert not endpoint.enabled and "410" in endpoint.disabled_reason
    assert WebhookDelivery.objects.get().status == "failed"
    assert AuditEvent.objects.filter(action="webhook_endpoint.disabled").exists()


def test_three_days_of_failure_disable_it_and_admins_are_emailed(owner, admin, receiver, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [60]
    endpoint, _ = subscribe(owner, receiver)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(days=3, hours=1)
    )
    receiver.answer_next((500, 0))
    endpoints.send_test_event(caller=as_member(owner), endpoint_id=endpoint.pk)

    endpoint.refresh_from_db()
    assert not endpoint.enabled and "3" in endpoint.disabled_reason
    (message,) = mail.outbox
    assert set(message.to) == {owner.user.email, admin.user.email}
    assert endpoint.url in message.body


def test_a_rotated_secret_and_the_old_one_both_sign_for_a_day(owner, receiver):
    endpoint, old = subscribe(owner, receiver)
    endpoint, new = endpoints.rotate_secret(caller=as_member(owner), endpoint_id=endpoint.pk)
    assert new != old
    endpoints.send_test_event(caller=as_member(owner), endpoint_id=endpoint.pk)
    received = receiver.received[-1]
    assert len(received.headers["webhook-signature"].split()) == 2
    Webhook(old).verify(received.body, received.headers)
    Webhook(new).verify(received.body, received.headers)

    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )
    endpoints.send_test_event(caller=as_member(owner), endpoint_id=endpoint.pk)
    received = receiver.received[-1]
    Webhook(new).verify(received.body, received.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(received.body, received.headers)


def test_tool_executed_is_opt_in_and_never_carries_params(alice, owner, boards, receiver):
    everything, _ = subscribe(owner, receiver)
    endpoints.create_endpoint(
        caller=as_member(owner), url=receiver.url + "?tools", event_types=["tool.executed"]
    )
    from connections import tools

    tools.execute_tool(
        caller=as_member(alice),
        tool_name="monday_create_item",
        params={"board_id": "1001", "item_name": "Secret plan Q4"},
    )
    executed = payloads(receiver, "tool.executed")
    assert len(executed) == 1  # only the endpoint that listed it
    assert WebhookDelivery.objects.filter(endpoint=everything).count() == 0
    data = executed[0]["data"]
    assert data["tool"] == "monday_create_item" and data["outcome"] == "success"
    assert data["identifier"] == alice.user.identifier and data["via"] == "api"
    assert "Secret plan" not in json.dumps(executed)
    jsonschema.validate(executed[0], events.envelope_schema("tool.executed"))


def test_agent_run_events_carry_links_and_no_secret(
    org, alice, owner, agent, model, monday, boards, member_client, receiver, api_key
):
    agent.approval_policy = "always"
    agent.save()
    _, secret = subscribe(owner, receiver)
    model.queue(
        call("monday_create_item", board_id="1001", item_name="Webhook item"),
        reply("Created it."),
    )
    response = member_client.post(f"/agents/{agent.pk}/", {"prompt": "Create it"})
    run_id = response["Location"].rstrip("/").split("/")[-1]
    member_client.post(f"/runs/{run_id}/approve/", decision(AgentRun.objects.get(pk=run_id)))
    expire_alice(monday, alice)

    types = [p["type"] for p in payloads(receiver)]
    assert types.count("agent_run.started") == 1
    waiting = payloads(receiver, "agent_run.awaiting_approval")[0]
    assert waiting["data"]["approve_link"].endswith(f"/runs/{run_id}/")
    assert waiting["data"]["tool"] == "monday_create_item"
    finished = payloads(receiver, "agent_run.finished")[0]
    assert finished["data"]["run"]["status"] == "succeeded"
    for payload in payloads(receiver):
        jsonschema.validate(payload, events.envelope_schema(payload["type"]))
    everything = (
        b"\n".join(receiver.bodies()) + json.dumps([r.headers for r in receiver.received]).encode()
    )
    for leaked in [*monday.issued_secrets(), CLIENT_SECRET, OPENAI_KEY, api_key, secret]:
        assert leaked.encode() not in everything, leaked[:8]


def test_the_api_manages_endpoints_the_log_and_replays(owner, api, receiver, other_api):
    created = api.post(
        "/api/v1/webhook-endpoints",
        {"url": receiver.url, "description": "backend", "event_types": ["agent_run.finished"]},
        format="json",
    )
    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("whsec_")
    endpoint_id = body["id"]
    assert "secret" not in api.get(f"/api/v1/webhook-endpoints/{endpoint_id}").json()

    refused = api.post("/api/v1/webhook-endpoints", {"url": "http://example.com/h"}, format="json")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "insecure_url"
    unknown = api.post(
        "/api/v1/webhook-endpoints",
        {"url": receiver.url, "event_types": ["nope"]},
        format="json",
    )
    assert unknown.status_code == 422

    receiver.answer_next((500, 0))
    sent = api.post(f"/api/v1/webhook-endpoints/{endpoint_id}/test")
    assert sent.status_code == 202
    log = api.get("/api/v1/webhook-deliveries", {"endpoint_id": endpoint_id}).json()["results"]
    assert [d["status"] for d in log] == ["pending"]
    delivery_id = log[0]["id"]
    detail = api.get(f"/api/v1/webhook-deliveries/{delivery_id}").json()
    assert detail["attempt_log"][0]["status_code"] == 500
    assert detail["attempt_log"][0]["response_excerpt"] == "upstream trouble"

    replayed = api.post(f"/api/v1/webhook-deliveries/{delivery_id}/replay")
    assert replayed.json() == {"replayed": 1}
    assert api.get(f"/api/v1/webhook-deliveries/{delivery_id}").json()["status"] == "delivered"
    assert api.get("/api/v1/webhook-deliveries", {"status": "bogus"}).status_code == 422
    assert other_api.get(f"/api/v1/webhook-deliveries/{delivery_id}").status_code == 404
    assert other_api.get(f"/api/v1/webhook-endpoints/{endpoint_id}").status_code == 404

    since = (timezone.now() - timedelta(hours=1)).isoformat()
    WebhookDelivery.objects.update(status="failed")
    again = api.post(
        f"/api/v1/webhook-endpoints/{endpoint_id}/replay-failed", {"since": since}, format="json"
    )
    assert again.json() == {"replayed": 1}

    types = api.get("/api/v1/webhook-event-types").json()["results"]
    assert {t["type"] for t in types} == set(events.EVENT_TYPES)
    assert api.delete(f"/api/v1/webhook-endpoints/{endpoint_id}").status_code == 204


def test_one_sender_per_endpoint(owner, receiver):
    from webhooks import delivery

    endpoint, _ = subscribe(owner, receiver)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        sending_until=timezone.now() + timedelta(seconds=30)
    )
    with transaction.atomic():
        endpoints.send_test_event(caller=as_member(owner), endpoint_id=endpoint.pk)
    assert receiver.received == []  # the live sender will send it
    assert delivery.run_endpoint(endpoint.pk) == {"sent": 0, "more": 0}


def test_a_renewal_landing_after_the_sender_let_go_does_not_hold_the_endpoint(owner, receiver):
    """The lease keeper renews from its own thread; a renewal that lands just after the
    sender released the lease must not revive it (else the endpoint sits idle until the
    dispatcher, and events wait)."""
    import threading

    from django.db import connection

    from webhooks import delivery

    endpoint, _ = subscribe(owner, receiver)
    endpoints.send_test_event(caller=as_member(owner), endpoint_id=endpoint.pk)
    receiver.answer_next((200, 0.5))  # the second sending takes a while
    WebhookDelivery.objects.update(status=WebhookDelivery.Status.PENDING, attempts=0)

    def send() -> None:
        try:
            delivery.run_endpoint(endpoint.pk)
        finally:
            connection.close()

    sender = threading.Thread(target=send)
    sender.start()
    deadline = time.monotonic() + 5
    held_by = ""
    while not held_by and time.monotonic() < deadline:
        held_by = WebhookEndpoint.objects.get(pk=endpoint.pk).sending_by
    sender.join(10)
    assert held_by, "the sender never took the lease"
    delivery.renew_leases([held_by])  # the keeper's renewal, late
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).sending_until is None
    endpoints.send_test_event(caller=as_member(owner), endpoint_id=endpoint.pk)
    assert len(receiver.received) == 3  # the event sent again at once by a new sender


def test_retention_follows_the_audit_log(org, owner, receiver):
    endpoint, _ = subscribe(owner, receiver)
    endpoints.send_test_event(caller=as_member(owner), endpoint_id=endpoint.pk)
    WebhookEvent.objects.update(created_at=timezone.now() - timedelta(days=400))
    assert tasks.prune() == {"deleted": 1}
    assert not WebhookDelivery.objects.exists()


def test_pages_add_an_endpoint_test_it_and_show_the_log(owner, receiver):
    from tests.fixtures import signed_in

    client = signed_in(owner)
    page = client.post("/webhooks/", {"url": receiver.url, "description": "b", "enabled": "on"})
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    assert b"whsec_" in page.content
    endpoint = WebhookEndpoint.objects.get()
    client.post(f"/webhooks/{endpoint.pk}/", {"action": "test"})
    detail = client.get(f"/webhooks/{endpoint.pk}/").content.decode()
    assert "webhook.test" in detail and "Delivered" in detail


def test_ids_that_are_not_ids_are_not_found(owner, member):
    from tests.fixtures import signed_in

    client = signed_in(owner)
    assert client.get("/webhooks/not-a-uuid/").status_code == 404
    assert client.get("/apps/approvals/zz/").status_code == 404
    assert client.post("/apps/zz/revoke/").status_code == 404
    assert signed_in(member).get("/webhooks/").status_code == 404  # managers only
