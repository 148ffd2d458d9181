"""The audit trail is a hash chain per organization: tampering, deletion and truncation are
detected (by `verify_audit` too), concurrent writers never fork it, metadata is redacted.
Events are written with their content hash and chained by the sequencer
(audit/sequencer.py)."""

from __future__ import annotations

import itertools
import threading
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audit import chain, sequencer, trail
from audit.models import AuditChain, AuditEvent


def _append(org, n: int, *, chained: bool = True, **fields) -> list[AuditEvent]:
    events = [
        trail.record(action="test.event", organization=org, target_id=str(i), **fields)
        for i in range(n)
    ]
    if chained:
        sequencer.sequence()
    return events


def test_an_untouched_chain_verifies_with_its_count(org, other_org):
    _append(org, 5)
    _append(other_org, 2)
    assert chain.verify_organization(org).ok and chain.verify_organization(org).count == 5
    assert chain.verify_organization(other_org).count == 2
    events = list(AuditEvent.objects.for_org(org).order_by("seq"))
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))


@pytest.mark.parametrize(
    "change",
    [
        {"action": "test.rewritten"},
        {"metadata": {"x": 1}},
        {"outcome": "failure"},
        {"target_id": "z"},
    ],
)
def test_an_edited_event_is_named_as_the_first_broken_one(org, change):
    events = _append(org, 4)
    AuditEvent.objects.filter(pk=events[2].pk).update(**change)
    report = chain.verify_organization(org)
    assert not report.ok
    assert report.broken_event_id == events[2].pk and report.count == 2
    assert "hash" in report.reason


def test_a_deleted_middle_event_and_a_truncated_tail_are_detected(org):
    events = _append(org, 5)
    AuditEvent.objects.filter(pk=events[4].pk).delete()
    assert "missing" in chain.verify_organization(org).reason
    AuditEvent.objects.filter(pk=events[1].pk).delete()
    report = chain.verify_organization(org)
    assert report.broken_seq == 3 and "missing" in report.reason


def test_verify_audit_command_reports_ok_and_fails_on_a_broken_chain(org):
    events = _append(org, 3)
    out = StringIO()
    call_command("verify_audit", "--org", org.slug, stdout=out)
    assert out.getvalue().strip() == "OK 3 events"
    AuditEvent.objects.filter(pk=events[0].pk).update(actor_label="someone else")
    with pytest.raises(CommandError, match=f"event #{events[0].pk}"):
        call_command("verify_audit", stdout=StringIO())
    with pytest.raises(CommandError, match="No organization"):
        call_command("verify_audit", "--org", "nope", stdout=StringIO())


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_the_chain(org):
    threads, per_thread = 8, 10
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                trail.record(action="test.concurrent", organization=org, target_id=f"{n}-{i}")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors, errors
    sequencer.sequence()
    report = chain.verify_organization(org)
    assert report.ok and report.count == threads * per_thread
    assert AuditChain.objects.get(key=chain.chain_key(org)).last_seq == threads * per_thread


@pytest.mark.django_db(transaction=True)
def test_writers_and_two_sequencers_at_once_never_fork_the_chain(org, other_org):
    stop = threading.Event()
    errors: list[BaseException] = []

    def write(organization, n: int) -> None:
        try:
            for i in range(n):
                trail.record(action="test.concurrent", organization=organization, target_id=i)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    def sequence() -> None:
        try:
            while not stop.is_set():
                sequencer.sequence(batch=7)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    writers = [threading.Thread(target=write, args=(o, 25)) for o in (org, other_org) * 3]
    sequencers = [threading.Thread(target=sequence) for _ in range(2)]
    for thread in writers + sequencers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    for thread in sequencers:
        thread.join()
    assert not errors, errors
    sequencer.sequence()
    for organization in (org, other_org):
        report = chain.verify_organization(organization)
        assert report.ok and report.count == 75 and report.pending == 0


def test_an_event_edited_before_it_is_chained_is_still_caught(org):
    events = _append(org, 3, chained=False)
    assert chain.verify_organization(org).pending == 3
    AuditEvent.objects.filter(pk=events[1].pk).update(target_id="rewritten")
    sequencer.sequence()  # chains the edited row as it now reads
    report = chain.verify_organization(org)
    assert not report.ok and report.broken_event_id == events[1].pk
    assert "hash" in report.reason


def test_appends_touch_no_shared_row(org, django_assert_num_queries):
    trail.record(action="test.warm", organization=org)
    with django_assert_num_queries(1):  # the INSERT: no chain head read, locked or written
        trail.record(action="test.event", organization=org, target_id="x")
    assert not AuditChain.objects.filter(key=chain.chain_key(org)).exists()


def test_metadata_is_redacted_before_it_is_stored(org):
    event = trail.record(
        action="test.redaction",
        organization=org,
        metadata={
            "password": "hunter2",
            "nested": {"access_token": "tok-123", "Client-Secret": "cs-9", "board": 7},
            "api_key": "ap_x",
            "long": "y" * 5000,
        },
    )
    stored = AuditEvent.objects.get(pk=event.pk).metadata
    text = str(stored)
    for secret in ("hunter2", "tok-123", "cs-9", "ap_x"):
        assert secret not in text
    assert stored["nested"]["board"] == 7 and len(stored["long"]) < 1000
    assert chain.verify_organization(org).ok
