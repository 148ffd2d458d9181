"""Leases: a run is driven by exactly one worker, and resumed when that worker dies.

A worker claims a run with one UPDATE (queued, or running with a lapsed lease) and holds
the lease while it drives it; a keeper thread renews every held lease a few times per
lease period. Each step is saved only while the lease is still this worker's (a worker
that lost its lease stops). `resume_stalled_runs` (a periodic job) hands runs whose lease
lapsed to the queue again, so another worker resumes them from their stored conversation
within a resume period of the lease expiring.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from agents.models import AgentRun, RunStatus
from core.holds import Keeper

logger = logging.getLogger(__name__)
ME = f"{socket.gethostname()}:{os.getpid()}"


class LeaseLost(Exception):
    """Another worker took the run over (this one was presumed dead): stop driving it."""


def lease_period() -> timedelta:
    return timedelta(seconds=settings.RUN_LEASE_SECONDS)


def claim(run_id) -> AgentRun | None:
    """Take the run if it is queued, or running under a lease that lapsed."""
    now = timezone.now()
    taken = (
        AgentRun.objects.filter(pk=run_id)
        .filter(
            Q(status=RunStatus.QUEUED)
            | Q(status=RunStatus.RUNNING, lease_expires_at__lt=now)
            | Q(status=RunStatus.RUNNING, lease_expires_at__isnull=True)
        )
        .update(
            status=RunStatus.RUNNING,
            lease_owner=ME,
            lease_expires_at=now + lease_period(),
            attempts=F("attempts") + 1,
        )
    )
    if not taken:
        return None
    run = AgentRun.objects.select_related("agent", "organization", "user", "api_key").get(pk=run_id)
    if run.started_at is None:
        run.started_at = now
        AgentRun.objects.filter(pk=run.pk).update(started_at=now)
    return run


def save(run: AgentRun, *fields: str) -> None:
    """Save these fields of the run, only while this worker holds its lease."""
    values = {field: getattr(run, field) for field in fields}
    if not AgentRun.objects.filter(pk=run.pk, lease_owner=ME).update(**values):
        raise LeaseLost(str(run.pk))


def _renew(run_ids: list) -> None:
    AgentRun.objects.filter(pk__in=run_ids, lease_owner=ME).update(
        lease_expires_at=timezone.now() + lease_period()
    )


# One thread per process renews the leases of every run this process drives, a few times
# per lease period (core/holds.py).
_keeper = Keeper("run-leases", _renew, beat=lambda: settings.RUN_LEASE_SECONDS / 3)


@contextlib.contextmanager
def held(run: AgentRun) -> Iterator[None]:
    """Keep the run's lease renewed while driving it; give it up after."""
    _keeper.add(run.pk)
    try:
        yield
    finally:
        _keeper.discard(run.pk)
        AgentRun.objects.filter(pk=run.pk, lease_owner=ME).update(
            lease_owner="", lease_expires_at=None
        )


def stalled_run_ids() -> list:
    """Runs to hand out again: running under a lapsed lease, or queued so long ago that
    their message must have been lost."""
    now = timezone.now()
    stuck_in_queue = now - timedelta(
        seconds=max(settings.RUN_REQUEUE_AFTER_SECONDS, 4 * settings.RUN_RESUME_EVERY_SECONDS)
    )
    return list(
        AgentRun.objects.filter(
            Q(status=RunStatus.RUNNING, lease_expires_at__lt=now)
            | Q(status=RunStatus.RUNNING, lease_expires_at__isnull=True)
            | Q(status=RunStatus.QUEUED, created_at__lt=stuck_in_queue)
        ).values_list("pk", flat=True)[:1000]
    )
