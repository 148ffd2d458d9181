"""Reviewing the audit trail: keyset pages, streamed exports, and retention (pruning
with a checkpoint so the rest of the chain verifies). Who sees which events is
selectors.py, the list's filters filters.py.

Pages, the API and `prune_audit` call these; the chain status comes from
`chain.verify_chain`, the code `verify_audit` runs.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.apps import apps
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from audit import intents, trail
from audit.chain import GLOBAL_CHAIN, chain_key
from audit.models import AuditChain, AuditEvent
from core.errors import Forbidden, Invalid
from core.tenancy import CallerLike

PAGE_SIZE = 50
EXPORT_CHUNK = 2000
PRUNE_BATCH = 5000
# An event's public fields: the API's, and the export columns, in this order.
EVENT_FIELDS = (
    "id",
    "created_at",
    "chain",
    "seq",
    "actor_type",
    "actor_id",
    "actor_label",
    "identifier",
    "action",
    "target_type",
    "target_id",
    "outcome",
    "metadata",
    "request_id",
    "ip",
    "user_agent",
    "prev_hash",
    "hash",
)


# --- Keyset pages -------------------------------------------------------------------------


@dataclass
class Page:
    events: list[AuditEvent]
    next_before: int | None  # pass as ?before= for the next (older) page


def page(events: QuerySet[AuditEvent], before: str | int | None, size: int = PAGE_SIZE) -> Page:
    """Newest first, `size` events written before event `before`:
    WHERE id < before ORDER BY id DESC LIMIT size + 1, the same cost at any depth.
    (Written order: an event shows the moment it is written, before it is chained.)"""
    if before not in (None, ""):
        try:
            events = events.filter(id__lt=int(str(before)))
        except (TypeError, ValueError):
            raise Invalid("before must be an event id.", code="invalid_cursor") from None
    rows = list(events.order_by("-id")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, rows[-1].pk if more and rows else None)


# --- Exports (streamed: never the whole set in memory) ------------------------------------


class _Echo:
    def write(self, value: str) -> str:
        return value


def _rows(events: QuerySet[AuditEvent]) -> Iterator[tuple]:
    # Tuples, not model instances: an export reads millions of rows.
    return events.order_by("-id").values_list(*EVENT_FIELDS).iterator(chunk_size=EXPORT_CHUNK)


CREATED_AT, METADATA = EVENT_FIELDS.index("created_at"), EVENT_FIELDS.index("metadata")


def export_csv(events: QuerySet[AuditEvent]) -> Iterable[str]:
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow(EVENT_FIELDS)
        for row in _rows(events):
            cells = list(row)
            cells[CREATED_AT] = cells[CREATED_AT].isoformat()
            cells[METADATA] = json.dumps(cells[METADATA], sort_keys=True)
            yield writer.writerow([_csv_safe(value) for value in cells])

    return _batched(lines())


def _batched(lines: Iterator[str], size: int = 500) -> Iterator[str]:
    """Join lines into larger chunks: fewer, bigger writes to the client."""
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) == size:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def _csv_safe(value: Any) -> Any:
    # Spreadsheet formula injection: a cell must not start with = + - @ (OWASP).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def export_jsonl(events: QuerySet[AuditEvent]) -> Iterable[str]:
    return _batched(
        json.dumps(dict(zip(EVENT_FIELDS, row, strict=True)), default=str) + "\n"
        for row in _rows(events)
    )


# --- Retention ----------------------------------------------------------------------------


@dataclass
class PruneReport:
    chain: str
    deleted: int
    checkpoint_seq: int


def prune_chain(key: str, cutoff: datetime, *, organization: Any = None) -> PruneReport:
    """Delete the chain's events older than `cutoff`, oldest first, in batches. Each batch
    moves the chain's checkpoint to the last deleted event in the same transaction, so
    `verify_chain` verifies what remains and an interrupted prune resumes cleanly."""
    deleted = 0
    while True:
        with transaction.atomic():
            head = AuditChain.objects.select_for_update().filter(key=key).first()
            if head is None:
                return PruneReport(key, 0, 0)
            batch = list(
                AuditEvent.objects.filter(chain=key, seq__gt=head.checkpoint_seq)
                .order_by("seq")
                .values("seq", "hash", "created_at")[:PRUNE_BATCH]
            )
            prunable = []
            for row in batch:
                if row["created_at"] >= cutoff:
                    break
                prunable.append(row)
            if not prunable:
                break
            last = prunable[-1]
            count, _ = AuditEvent.objects.filter(
                chain=key, seq__gt=head.checkpoint_seq, seq__lte=last["seq"]
            ).delete()
            head.checkpoint_seq, head.checkpoint_hash = last["seq"], last["hash"]
            head.save(update_fields=["checkpoint_seq", "checkpoint_hash"])
            deleted += count
        if len(prunable) < len(batch) or len(batch) < PRUNE_BATCH:
            break
    if deleted:
        trail.record(
            action="audit.pruned",
            organization=organization,
            actor=trail.Actor.system("retention"),
            target_type="audit_chain",
            target_id=key,
            metadata={"deleted": deleted, "checkpoint_seq": head.checkpoint_seq},
        )
    return PruneReport(key, deleted, head.checkpoint_seq)


def prune_organization(org: Any, *, now: datetime | None = None) -> PruneReport:
    cutoff = (now or timezone.now()) - timedelta(days=org.audit_retention_days)
    return prune_chain(chain_key(org), cutoff, organization=org)


def set_retention(*, caller: CallerLike, days: object, request: HttpRequest | None = None) -> None:
    """Owners set how long their organization's events are kept (1 to 3,650 days)."""
    if caller.role != "owner":
        raise Forbidden("Only owners set the retention period.", code="owners_only")
    try:
        number = int(str(days))
    except ValueError:
        raise Invalid("Retention is a number of days.", code="invalid_retention") from None
    if not 1 <= number <= 3650:
        raise Invalid("Retention must be between 1 and 3,650 days.", code="invalid_retention")
    org = caller.organization
    old = org.audit_retention_days
    with transaction.atomic():
        org.audit_retention_days = number
        org.save(update_fields=["audit_retention_days"])
        trail.record(
            action="audit.retention_changed",
            organization=org,
            caller=caller,
            request=request,
            target_type="organization",
            target_id=org.slug,
            metadata={"old_days": old, "new_days": number},
        )


def prune_all(*, now: datetime | None = None) -> list[PruneReport]:
    """Every organization by its own retention; account events by AUDIT_GLOBAL_RETENTION_DAYS."""
    from django.conf import settings

    # By string: audit sits below portal in the dependency order.
    Organization = apps.get_model("portal", "Organization")

    now = now or timezone.now()
    reports = [prune_organization(org, now=now) for org in Organization.objects.order_by("pk")]
    cutoff = now - timedelta(days=settings.AUDIT_GLOBAL_RETENTION_DAYS)
    reports.append(prune_chain(GLOBAL_CHAIN, cutoff))
    return reports


# --- How an event's outcome reads -------------------------------------------------------


PORTAL_IDENTIFIER = re.compile(r"^user_([0-9a-f]{32})$")


def label_people(events: list[AuditEvent]) -> list[AuditEvent]:
    """Set `person` (an email) on events acting as a portal user's identifier, so pages
    show people rather than `user_64a0…` (one query a page)."""
    wanted = {
        match.group(1)
        for event in events
        if (match := PORTAL_IDENTIFIER.match(event.identifier or ""))
    }
    # By string: audit sits below portal in the dependency order.
    User = apps.get_model("portal", "User")
    emails = (
        {
            user_uuid.hex: email
            for user_uuid, email in User.objects.filter(uuid__in=wanted).values_list(
                "uuid", "email"
            )
        }
        if wanted
        else {}
    )
    for event in events:
        match = PORTAL_IDENTIFIER.match(event.identifier or "")
        event.person = emails.get(match.group(1), "") if match else ""
    return events


def label_outcomes(events: list[AuditEvent], *, now: datetime | None = None) -> list[AuditEvent]:
    """Set `outcome_label` on each event. A pending (write-ahead) event reads "started"
    once its completion is on record, "in progress" while it is not, and "outcome
    unknown" when it has waited longer than any call may take (one query a page)."""
    now = now or timezone.now()
    pending = [e.pk for e in events if e.outcome == AuditEvent.Outcome.PENDING]
    still_open = intents.open_intent_ids(pending) if pending else set()
    for event in events:
        event.outcome_class, event.outcome_label = event.outcome, event.get_outcome_display()
        if event.outcome != AuditEvent.Outcome.PENDING:
            continue
        if event.pk not in still_open:
            event.outcome_class, event.outcome_label = "info", "Started"
        elif now - event.created_at > intents.STALE_AFTER:
            event.outcome_class, event.outcome_label = "unknown", "Outcome unknown"
        else:
            event.outcome_label = "In progress"
    return events
