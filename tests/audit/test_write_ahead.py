"""DESIGN §12 rule 17: no tool side effect without its audit event.

The call's event is written ahead (pending, committed) before the provider sees
anything, and completed after; a call whose process died reads "outcome unknown".
Text the database cannot store is refused in params (422, no network call) and
escaped everywhere else, so the audit write never fails after the fact.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection as db_connection
from django.utils import timezone

from audit import chain, intents, review, trail
from audit.models import AuditEvent, OpenIntent
from connections import tools
from connections.errors import ToolInvalid
from tests.callers import as_identifier

pytestmark = pytest.mark.django_db(transaction=True)


def execute(org, member, name, params):
    return tools.execute_tool(
        caller=as_identifier(org, member.user.identifier), tool_name=name, params=params
    )


def test_the_pending_event_of_a_write_is_committed_before_the_provider_is_called(
    org, alice, monday, boards
):
    seen = []

    def look(method, path):
        if path == "/v2":  # another connection: sees only what is committed
            pending = AuditEvent.objects.filter(action="tool.started")
            seen.append(list(pending.values_list("outcome", "metadata__tool")))
            db_connection.close()

    monday.before_request = look
    execute(org, alice, "monday_create_item", {"board_id": "1001", "item_name": "Ahead"})
    # (monday_create_item asks the board's columns first, then creates: both calls see it)
    assert seen and all(s == [("pending", "monday_create_item")] for s in seen)
    started = AuditEvent.objects.get(action="tool.started")
    done = AuditEvent.objects.get(action="tool.executed")
    assert done.metadata["started_event"] == started.pk and done.outcome == "success"
    assert not OpenIntent.objects.exists()  # closed with the completion
    assert chain.verify_organization(org).ok


def test_a_read_writes_one_event_after_the_call(org, alice, monday):
    """A read changes nothing at the provider: nothing to write ahead of it."""
    execute(org, alice, "monday_get_me", {})
    assert not AuditEvent.objects.filter(action="tool.started").exists()
    done = AuditEvent.objects.get(action="tool.executed")
    assert done.outcome == "success" and done.metadata["tool"] == "monday_get_me"


@pytest.mark.parametrize("text", ["nul\x00here", "lone \ud800 surrogate"])
def test_unstorable_text_in_params_is_refused_before_any_network_call(org, alice, monday, text):
    before = len(monday.api.api_requests)
    with pytest.raises(ToolInvalid) as raised:
        execute(org, alice, "monday_add_update", {"item_id": 1, "body": text})
    assert raised.value.status == 422 and raised.value.code == "invalid_params"
    assert "$.body" in raised.value.message
    assert len(monday.api.api_requests) == before
    event = AuditEvent.objects.get(action="tool.executed")
    assert event.outcome == "failure" and event.metadata["status"] == 422
    assert "\x00" not in str(event.metadata) and chain.verify_organization(org).ok


def test_the_api_answers_422_for_nul_in_params(org, alice, monday, api):
    response = api.post(
        "/api/v1/tools/execute",
        {
            "tool_name": "monday_add_update",
            "identifier": alice.user.identifier,
            "params": {"item_id": 1, "body": "a\u0000b"},
        },
        format="json",
    )
    assert response.status_code == 400  # refused by the JSON parser, before the view
    assert response.json()["error"]["message"]


def test_a_call_whose_process_died_reads_outcome_unknown(org, alice, member_client):
    intent = trail.begin(
        action="tool.executed",
        started_action="tool.started",
        organization=org,
        actor=trail.Actor.user(alice.user),
        identifier=alice.user.identifier,
        target_type="tool",
        target_id="monday_create_item",
        metadata={"tool": "monday_create_item", "execution_id": "e1"},
    )
    # The process stops here; nothing completes the intent.
    page = member_client.get("/audit/?action=tool.").content.decode()
    assert "In progress" in page
    an_hour_later = timezone.now() + timedelta(hours=1)
    pending = review.label_outcomes(list(AuditEvent.objects.all()), now=an_hour_later)
    assert {e.outcome_label for e in pending if e.action == "tool.started"} == {"Outcome unknown"}

    assert intents.close_stale_intents(older_than=timedelta(0)) == 1
    unknown = AuditEvent.objects.get(action="tool.executed")
    assert unknown.outcome == AuditEvent.Outcome.UNKNOWN
    assert unknown.metadata["started_event"] == intent.event_id
    assert unknown.metadata["execution_id"] == "e1"
    assert intents.close_stale_intents(older_than=timedelta(0)) == 0  # once
    labels = {
        e.action: e.outcome_label
        for e in review.label_outcomes(list(AuditEvent.objects.filter(action__startswith="tool.")))
    }
    assert labels == {"tool.started": "Started", "tool.executed": "Outcome unknown"}
    assert chain.verify_organization(org).ok


def test_the_audit_layer_escapes_what_the_database_cannot_store(org):
    event = trail.record(
        action="test.unstorable",
        organization=org,
        identifier="id\x00x",
        target_id="t\ud800",
        metadata={"text": "a\x00b", "k\x00": ["\udfff"]},
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.identifier == "id\\u0000x" and stored.target_id == "t\\ud800"
    assert stored.metadata == {"text": "a\\u0000b", "k\\u0000": ["\\udfff"]}
    assert chain.verify_organization(org).ok
