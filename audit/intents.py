"""Open intents (audit/trail.py's write-ahead): those whose action never completed.

An action begun and never completed — its process stopped during the call — keeps its
intent row open; `close_stale_intents` (a periodic job) records its outcome as unknown.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from audit.models import AuditEvent, OpenIntent
from audit.trail import Actor, Intent, complete

STALE_AFTER = timedelta(minutes=15)


def close_stale_intents(*, older_than: timedelta = STALE_AFTER) -> int:
    """Record "outcome unknown" for actions begun long ago and never completed."""
    closed = 0
    stale = (
        OpenIntent.objects.filter(created_at__lt=timezone.now() - older_than)
        .select_related("event", "event__organization")
        .order_by("created_at")
    )
    for intent in stale[:1000]:
        started = intent.event
        with transaction.atomic():
            # Another sweeper (or the late completion) may have closed it meanwhile.
            if not OpenIntent.objects.select_for_update().filter(pk=intent.pk).exists():
                continue
            complete(
                Intent(
                    started.pk,
                    intent.action,
                    started.organization,
                    Actor(started.actor_type, started.actor_id, started.actor_label),
                    started.identifier,
                    started.target_type,
                    started.target_id,
                ),
                outcome=AuditEvent.Outcome.UNKNOWN,
                metadata={
                    **started.metadata,
                    "reason": "No result was recorded: the process stopped during the call.",
                },
            )
        closed += 1
    return closed


def open_intent_ids(event_ids: list[int]) -> set[int]:
    """Which of these (pending) events still wait for their completion."""
    return set(OpenIntent.objects.filter(event_id__in=event_ids).values_list("pk", flat=True))
