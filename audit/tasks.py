"""Background work of the audit trail (Celery): chaining new events, retention and
closing write-ahead intents."""

from celery import shared_task

from audit import intents, review, sequencer
from core.jobs import exclusive


@shared_task
def sequence_audit() -> dict:
    return exclusive("sequence_audit", lambda: {"chained": sequencer.sequence()})


@shared_task
def prune_audit() -> dict:
    return exclusive("prune_audit", lambda: {"deleted": sum(r.deleted for r in review.prune_all())})


@shared_task
def close_stale_intents() -> dict:
    return exclusive("close_stale_intents", lambda: {"closed": intents.close_stale_intents()})
