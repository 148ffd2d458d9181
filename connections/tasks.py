"""Background work of connections (Celery): proactive token refresh fanned out over the
workers, keep-alive refreshes, and the cleanup of authorizations nobody finished.

The periodic jobs (`refresh_due_tokens`, `keep_tokens_alive`) only pick the accounts and
queue batches; `refresh_accounts` does the refreshing, each account single-flight under
its row lock (connections/tokens.py), so two schedulers that queue the same account cause
one refresh. Batches start spread over a jitter window; a 429 defers the rest of a batch
by the provider's Retry-After; provider failures back off exponentially.
"""

from __future__ import annotations

import random
from datetime import datetime

from celery import shared_task
from django.conf import settings
from django.utils.dateparse import parse_datetime

from connections import budgets, cleanup, results, upkeep
from core import bulkheads
from core.jobs import exclusive

BATCH_SIZE = 20
MAX_ATTEMPTS = 6


def _jitter() -> float:
    return random.uniform(0, settings.REFRESH_JITTER_SECONDS)  # noqa: S311 (spreading load, not a secret)


def _queue(account_ids: list, *, issued_before: datetime | None = None) -> int:
    cutoff = issued_before.isoformat() if issued_before else None
    batches = 0
    for start in range(0, len(account_ids), BATCH_SIZE):
        batch = account_ids[start : start + BATCH_SIZE]
        refresh_accounts.apply_async(
            args=[[str(pk) for pk in batch]],
            kwargs={"issued_before": cutoff},
            countdown=_jitter(),
        )
        batches += 1
    return batches


def queue_due_refreshes() -> dict[str, int]:
    """Queue the due accounts' refreshes a page of organizations at a time (each page
    one bounded query: connections/upkeep.due_page)."""
    due = batches = 0
    for page in upkeep.due_pages():
        due += len(page)
        batches += _queue(page)
    return {"due": due, "batches": batches}


def queue_keepalive_refreshes() -> dict[str, int]:
    by_cutoff: dict[datetime, list] = {}
    for pk, cutoff in upkeep.idle_accounts():
        by_cutoff.setdefault(cutoff, []).append(pk)
    batches = sum(_queue(ids, issued_before=cutoff) for cutoff, ids in by_cutoff.items())
    return {"idle": sum(len(ids) for ids in by_cutoff.values()), "batches": batches}


@shared_task
def refresh_due_tokens() -> dict:
    return exclusive("refresh_due_tokens", queue_due_refreshes)


@shared_task
def keep_tokens_alive() -> dict:
    return exclusive("keep_tokens_alive", queue_keepalive_refreshes)


@shared_task(acks_late=True)
def refresh_accounts(
    account_ids: list[str], issued_before: str | None = None, attempt: int = 0
) -> dict[str, int]:
    cutoff = parse_datetime(issued_before) if issued_before else None
    report = bulkheads.within(
        "upkeep",
        lambda: upkeep.upkeep(account_ids, issued_before=cutoff),
        defer=lambda seconds: refresh_accounts.apply_async(
            args=[account_ids],
            kwargs={"issued_before": issued_before, "attempt": attempt},
            countdown=seconds,
        ),
    )
    if report is None:
        return {"deferred": len(account_ids)}
    if attempt >= MAX_ATTEMPTS:
        return report.as_dict()  # the next periodic sweep picks them up again
    if report.deferred:
        refresh_accounts.apply_async(
            args=[report.deferred],
            kwargs={"issued_before": issued_before, "attempt": attempt + 1},
            countdown=(report.retry_after or 30) + _jitter(),
        )
    if report.retry:
        refresh_accounts.apply_async(
            args=[report.retry],
            kwargs={"issued_before": issued_before, "attempt": attempt + 1},
            countdown=min(30 * 2**attempt, 1800) + _jitter(),
        )
    return report.as_dict()


@shared_task
def prune_authorization_requests() -> dict:
    return exclusive("prune_authorizations", cleanup.prune_authorization_requests)


@shared_task
def prune_stored_results() -> dict:
    return exclusive("prune_stored_results", lambda: {"deleted": results.forget_old()})


@shared_task
def prune_usage() -> dict:
    return exclusive("prune_usage", lambda: {"deleted": budgets.prune_usage()})
