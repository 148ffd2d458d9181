"""Audit log review: who sees what, filters, keyset pages, streamed exports, chain status,
retention with a checkpoint that keeps the rest of the chain verifiable."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from audit import chain, review, sequencer, trail
from audit.models import AuditEvent
from tests.fixtures import signed_in


def _event(org, action="tool.executed", *, age=timedelta(0), **fields) -> AuditEvent:
    """An event as if recorded `age` ago (written, not chained yet: call _rechain)."""
    event = trail.record(action=action, organization=org, **fields)
    if age:
        event = AuditEvent.objects.get(pk=event.pk)
        event.created_at = timezone.now() - age
        event.content_hash = chain.compute_content_hash(event)
        event.save(update_fields=["created_at", "content_hash"])
    return event


def _rechain(*orgs) -> None:
    """Chain the written events, as the sequencer does every second."""
    sequencer.sequence()


def _only(ids, history) -> set[int]:
    """Keep the fixture's events (sign-ins and exports made by the test are events too)."""
    return set(ids) & {event.pk for event in history.values()}


@pytest.fixture
def history(org, member, other_org):
    """A small history: tool runs as the member, a connection change, another org's event."""
    actor = trail.Actor.user(member.user)
    events = {
        "mine_ok": _event(
            org,
            identifier=member.user.identifier,
            actor=actor,
            target_type="tool",
            target_id="monday_create_item",
            metadata={"connection": "monday", "params": {"item_name": "Q3"}},
        ),
        "mine_failed": _event(
            org,
            identifier=member.user.identifier,
            actor=actor,
            outcome="failure",
            target_type="tool",
            target_id="monday_get_board",
            metadata={"connection": "monday"},
            age=timedelta(days=3),
        ),
        "connection": _event(
            org,
            "connection.updated",
            actor=trail.Actor.system("admin"),
            target_type="connection",
            target_id="monday",
            age=timedelta(days=10),
        ),
        "someone_else": _event(
            org, identifier="user_someone_else", target_type="tool", target_id="monday_get_me"
        ),
        "other_org": _event(other_org, identifier=member.user.identifier, target_id="globex"),
    }
    _rechain(org, other_org)
    return events


def _listed(client, **params) -> list[int]:
    response = client.get("/audit/", params)
    assert response.status_code == 200, response.content.decode()[:500]
    return [event.pk for event in response.context["page"].events]


def test_admins_and_auditors_see_the_organization_members_only_their_own(
    org, owner, auditor, member, history
):
    org_events = _only(AuditEvent.objects.for_org(org).values_list("pk", flat=True), history)
    for membership in (owner, auditor):
        assert _only(_listed(signed_in(membership)), history) == org_events
    mine = _only(_listed(signed_in(member)), history)
    assert history["mine_ok"].pk in mine and history["mine_failed"].pk in mine
    assert history["someone_else"].pk not in mine and history["connection"].pk not in mine
    assert history["other_org"].pk not in mine
    assert signed_in(member).get(f"/audit/{history['someone_else'].pk}/").status_code == 404
    assert signed_in(member).get("/audit/chain/").status_code == 404


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"action": "tool.executed"}, {"mine_ok", "mine_failed", "someone_else"}),
        ({"action": "connection."}, {"connection"}),
        ({"action": "conn"}, {"connection"}),  # a word, as typed: a prefix
        ({"outcome": "failure"}, {"mine_failed"}),
        ({"identifier": "user_someone_else"}, {"someone_else"}),
        ({"connection_name": "monday"}, {"mine_ok", "mine_failed", "connection"}),
        ({"q": "get_board"}, {"mine_failed"}),
        ({"actor": "admin"}, {"connection"}),
        ({"since": "{today}"}, {"mine_ok", "someone_else"}),
        ({"until": "{five_days_ago}"}, {"connection"}),
    ],
)
def test_each_filter_on_the_page_and_the_api(org, owner, history, api, params, expected):
    today = timezone.localdate()
    values = {"today": today.isoformat(), "five_days_ago": (today - timedelta(days=5)).isoformat()}
    params = {key: value.format(**values) for key, value in params.items()}
    wanted = {history[name].pk for name in expected}
    assert _only(_listed(signed_in(owner), **params), history) == wanted
    api_results = api.get("/api/v1/audit-events", params).json()["results"]
    assert _only((event["id"] for event in api_results), history) == wanted


def test_the_actor_filter_finds_a_person_by_email(org, owner, member, history):
    ids = _listed(signed_in(owner), actor=member.user.email.split("@")[0])
    assert set(ids) >= {history["mine_ok"].pk, history["mine_failed"].pk}
    assert history["connection"].pk not in ids


def test_bad_filters_are_a_readable_error_not_a_500(org, owner, api):
    page = signed_in(owner).get("/audit/", {"since": "yesterday-ish"})
    assert page.status_code == 400 and "must be a date" in page.content.decode()
    assert signed_in(owner).get("/audit/", {"before": "abc"}).status_code == 400
    assert signed_in(owner).get("/audit/", {"outcome": "meh"}).status_code == 400
    response = api.get("/api/v1/audit-events", {"until": "31/12/2026"})
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_filter"
    assert api.get("/api/v1/audit-events", {"cursor": "nope"}).status_code == 400


def test_keyset_pages_walk_every_event_once_on_the_page_and_the_api(org, owner, api):
    for i in range(120):
        _event(org, target_id=f"item-{i}")
    client = signed_in(owner)
    seen, before = [], None
    while True:
        response = client.get("/audit/", {"before": before} if before else {})
        page = response.context["page"]
        seen += [event.pk for event in page.events]
        before = page.next_before
        if before is None:
            break
    expected = list(AuditEvent.objects.for_org(org).order_by("-id").values_list("pk", flat=True))
    assert seen == expected

    seen, cursor = [], None
    while True:
        body = api.get("/api/v1/audit-events", {"cursor": cursor} if cursor else {}).json()
        seen += [event["id"] for event in body["results"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    expected = list(AuditEvent.objects.for_org(org).order_by("-id").values_list("pk", flat=True))
    assert seen == expected  # (the API's reads add no events)


def _download(response) -> str:
    assert response.streaming
    return b"".join(response.streaming_content).decode()


def test_exports_stream_the_filtered_set_as_csv_and_json_lines(org, owner, history):
    client = signed_in(owner)
    _event(org, target_type="tool", target_id='=HYPERLINK("http://evil")')
    response = client.get("/audit/export.csv", {"action": "tool.executed"})
    assert response["Content-Type"] == "text/csv"
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(_download(response))))
    assert {row["action"] for row in rows} == {"tool.executed"}
    assert len(rows) == 4
    assert json.loads(rows[-1]["metadata"])["connection"] == "monday"
    assert all(not row["target_id"].startswith("=") for row in rows)  # formula-safe

    lines = _download(client.get("/audit/export.jsonl", {"outcome": "failure"})).splitlines()
    assert [json.loads(line)["id"] for line in lines] == [history["mine_failed"].pk]
    assert AuditEvent.objects.for_org(org).filter(action="audit.exported").count() == 2


def test_members_export_only_their_own_events(org, member, history):
    lines = _download(signed_in(member).get("/audit/export.jsonl")).splitlines()
    ids = _only((json.loads(line)["id"] for line in lines), history)
    assert ids == {history["mine_ok"].pk, history["mine_failed"].pk}


def test_the_event_page_shows_every_field_and_pretty_metadata(org, owner, history):
    page = signed_in(owner).get(f"/audit/{history['mine_ok'].pk}/").content.decode()
    assert history["mine_ok"].hash in page and "monday_create_item" in page
    assert "&quot;item_name&quot;: &quot;Q3&quot;" in page  # indented JSON, escaped


def test_chain_status_comes_from_the_same_verification_as_verify_audit(org, auditor, history):
    client = signed_in(auditor)
    assert "Verified" in client.get("/audit/chain/").content.decode()
    AuditEvent.objects.filter(pk=history["mine_failed"].pk).update(target_id="rewritten")
    status = client.get("/audit/chain/").content.decode()
    assert "Broken" in status and f"event #{history['mine_failed'].pk}" in status


def test_members_via_api_session_see_their_own_and_keys_see_all(org, member, history, api):
    session = APIClient()
    session.force_login(member.user)
    ids = _only((e["id"] for e in session.get("/api/v1/audit-events").json()["results"]), history)
    assert ids == {history["mine_ok"].pk, history["mine_failed"].pk}
    assert session.get(f"/api/v1/audit-events/{history['connection'].pk}").status_code == 404
    detail = api.get(f"/api/v1/audit-events/{history['connection'].pk}").json()
    assert detail["action"] == "connection.updated" and detail["hash"]


# --- Retention ----------------------------------------------------------------------------


def test_only_owners_set_retention_with_valid_days(org, owner, admin):
    assert signed_in(admin).post("/audit/retention/", {"days": "30"}).status_code == 302
    org.refresh_from_db()
    assert org.audit_retention_days == 365
    for bad in ("0", "99999", "soon"):
        signed_in(owner).post("/audit/retention/", {"days": bad})
        org.refresh_from_db()
        assert org.audit_retention_days == 365
    signed_in(owner).post("/audit/retention/", {"days": "30"})
    org.refresh_from_db()
    assert org.audit_retention_days == 30


def test_pruning_keeps_the_rest_verifiable_and_is_idempotent(org, other_org):
    org.audit_retention_days = 30
    org.save()
    old = [_event(org, target_id=f"old-{i}", age=timedelta(days=40)) for i in range(7)]
    recent = [_event(org, target_id=f"new-{i}") for i in range(3)]
    other_old = _event(other_org, age=timedelta(days=40))  # 365 days there: kept
    _rechain(org, other_org)

    out = StringIO()
    call_command("prune_audit", stdout=out)
    assert "Pruned 7 events." in out.getvalue()
    remaining = set(AuditEvent.objects.for_org(org).values_list("pk", flat=True))
    assert not remaining & {e.pk for e in old}
    assert {e.pk for e in recent} <= remaining
    report = chain.verify_organization(org)
    assert report.ok and report.count + report.pending == 4  # 3 recent + audit.pruned
    assert AuditEvent.objects.filter(pk=other_old.pk).exists()
    assert chain.verify_organization(other_org).ok

    call_command("prune_audit", stdout=out)  # again: nothing more
    assert out.getvalue().strip().endswith("Pruned 0 events.")
    sequencer.sequence()
    assert chain.verify_organization(org).count == 4


def test_pruning_in_batches_moves_the_checkpoint_each_time(org, monkeypatch):
    monkeypatch.setattr(review, "PRUNE_BATCH", 3)  # a setting of the loop, not our logic
    org.audit_retention_days = 1
    org.save()
    for i in range(8):
        _event(org, target_id=str(i), age=timedelta(days=2))
    _rechain(org)
    report = review.prune_organization(org)
    assert report.deleted == 8 and report.checkpoint_seq == 8
    assert chain.verify_organization(org).ok


def test_redaction_hides_secrets_not_flags_or_counts():
    from audit.trail import REDACTED, redact

    shown = redact(
        {"api_key_changed": True, "tokens": 1234, "access_token": "at-1", "password": 1234}
    )
    assert shown == {
        "api_key_changed": True,
        "tokens": 1234,
        "access_token": REDACTED,
        "password": REDACTED,
    }


def test_ago_says_just_now_for_the_last_minute():
    from datetime import timedelta

    from django.utils import timezone

    from core.templatetags.when import ago

    assert ago(timezone.now()) == "just now"
    assert ago(timezone.now() - timedelta(minutes=3)) == "3\xa0minutes ago"


def test_pages_show_people_and_the_api_gives_each_members_identifier(org, owner, member, api):
    trail.record(
        action="test.acted", organization=org, identifier=member.user.identifier, target_id="x"
    )
    page = signed_in(owner).get("/audit/").content.decode()
    assert f'title="{member.user.identifier}">{member.user.email}<' in page
    listed = {m["email"]: m["identifier"] for m in api.get("/api/v1/members").json()["results"]}
    assert listed[member.user.email] == member.user.identifier


def test_the_api_writes_each_event_as_the_model_serializer_would(org, owner, api):
    """The audit list's own to_representation (fast) against DRF's generic one, over
    events with every kind of value: chained and not, an IP or none, nested metadata."""
    from rest_framework import serializers

    from audit.api.serializers import AuditEventSerializer

    class Generic(serializers.ModelSerializer):
        class Meta:
            model = AuditEvent
            fields = AuditEventSerializer.Meta.fields

    trail.record(action="tool.executed", organization=org, metadata={"a": [1, {"b": None}]})
    trail.record(action="member.added", organization=org, identifier="user_x", outcome="denied")
    sequencer.sequence()
    trail.record(action="tool.executed", organization=org)  # not chained yet
    AuditEvent.objects.filter(action="member.added").update(ip="203.0.113.9", user_agent="ua")
    events = list(AuditEvent.objects.filter(organization=org).order_by("-id"))
    fast = AuditEventSerializer(events, many=True).data
    assert json.dumps(fast) == json.dumps(Generic(events, many=True).data)
    assert api.get("/api/v1/audit-events").json()["results"][: len(events)] == json.loads(
        json.dumps(fast)
    )
