"""What the people who run the installation watch: the background work of every
organization, as counts (no tenant's prompts, identifiers or tokens).

Queue depth comes from the broker; runs in flight per worker from the runs' leases;
periodic jobs from their lock rows (core.jobs); workers from their heartbeats.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Min
from django.utils import timezone

from agents.models import AgentRun, RunStatus
from connections.models import AccountStatus, ConnectedAccount
from core.models import PeriodicJob, TaskFailure, WorkerHeartbeat

logger = logging.getLogger(__name__)


def queue_depth() -> int | None:
    """Messages waiting in the default queue; None when tasks run in-process or the broker
    cannot be asked (the page says so rather than failing)."""
    from portal.celery import app

    if app.conf.task_always_eager:
        return None
    try:
        with app.connection_for_read() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
            declared = connection.default_channel.queue_declare(
                queue=app.conf.task_default_queue, passive=True
            )
            return declared.message_count
    except Exception:  # any broker trouble: shown as unknown
        logger.warning("could not read the queue depth from the broker", exc_info=True)
        return None


UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def as_interval(seconds: float) -> str:
    """'1 day', '15 seconds', '1.5 seconds': how often, in the largest whole unit."""
    for unit, size in UNITS:
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds:g} seconds"


@dataclass(frozen=True)
class JobRow:
    name: str
    every_seconds: float
    job: PeriodicJob | None
    # Since when a worker (and so a scheduler) has been up: a job is not late before
    # it was first due.
    workers_since: datetime | None = None

    @property
    def every(self) -> str:
        return as_interval(self.every_seconds)

    @property
    def late(self) -> bool:
        """Not started for three of its own intervals since it was last started — or
        since the workers came up, for a job that never ran."""
        started = self.job.last_started_at if self.job else None
        reference = started or self.workers_since
        if reference is None:
            return False  # no worker: the "Background work is stopped" banner says so
        return timezone.now() - reference > timedelta(seconds=3 * self.every_seconds)


def periodic_jobs() -> list[JobRow]:
    known = {job.name: job for job in PeriodicJob.objects.all()}
    since = WorkerHeartbeat.objects.alive().aggregate(since=Min("started_at"))["since"]
    return [
        JobRow(name=name, every_seconds=float(seconds), job=known.get(name), workers_since=since)
        for name, (_task, seconds) in settings.PERIODIC_JOBS.items()
    ]


def snapshot() -> dict[str, Any]:
    now = timezone.now()
    in_flight = (
        AgentRun.objects.filter(status=RunStatus.RUNNING)
        .values("lease_owner")
        .annotate(runs=Count("pk"))
        .order_by("-runs")
    )
    oldest_queued: datetime | None = AgentRun.objects.filter(status=RunStatus.QUEUED).aggregate(
        oldest=Min("created_at")
    )["oldest"]
    alive = set(WorkerHeartbeat.objects.alive().values_list("worker_id", flat=True))
    return {
        "queue_depth": queue_depth(),
        "eager": settings.CELERY_TASK_ALWAYS_EAGER,
        "runs_in_flight": [
            {
                "worker": row["lease_owner"] or "(between leases)",
                "runs": row["runs"],
                "alive": row["lease_owner"] in alive,
            }
            for row in in_flight
        ],
        "queued_runs": AgentRun.objects.filter(status=RunStatus.QUEUED).count(),
        "oldest_queued_seconds": (now - oldest_queued).total_seconds() if oldest_queued else None,
        "awaiting_approval": AgentRun.objects.filter(status=RunStatus.AWAITING_APPROVAL).count(),
        "workers": [
            {"heartbeat": beat, "alive": beat.worker_id in alive}
            for beat in WorkerHeartbeat.objects.order_by("-last_seen")[:50]
        ],
        "jobs": periodic_jobs(),
        "failures": list(TaskFailure.objects.all()[:20]),
        "failures_24h": TaskFailure.objects.filter(at__gte=now - timedelta(hours=24)).count(),
        "refresh_unknown": ConnectedAccount.objects.filter(
            status=AccountStatus.ACTIVE, refresh_outcome_unknown_at__isnull=False
        ).count(),
        "refreshes_failing": ConnectedAccount.objects.filter(
            status=AccountStatus.ACTIVE, refresh_failure_count__gt=0
        ).count(),
    }
