"""What operators watch: periodic jobs, worker heartbeats, tasks that failed."""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.utils import timezone

HEARTBEAT_SECONDS = 5  # a worker writes its heartbeat this often (core/worker.py)


class PeriodicJob(models.Model):
    """One periodic job (settings.PERIODIC_JOBS): its lock and its last run.

    `running_since` is the lock: a job runs only where it could set it (core.jobs), so
    two schedulers or a slow run never make it run twice at once.
    """

    name = models.CharField(max_length=100, primary_key=True)
    running_since = models.DateTimeField(null=True, blank=True)
    running_on = models.CharField(max_length=200, blank=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_duration_ms = models.FloatField(null=True, blank=True)
    last_outcome = models.CharField(max_length=20, blank=True)  # ok, failed
    last_result = models.JSONField(default=dict, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    runs = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.name


class HeartbeatQuerySet(models.QuerySet):
    def alive(self) -> HeartbeatQuerySet:
        """Workers heard from within three heartbeats."""
        return self.filter(last_seen__gte=timezone.now() - timedelta(seconds=3 * HEARTBEAT_SECONDS))


class WorkerHeartbeat(models.Model):
    """A worker process says it is alive (core.worker), every few seconds."""

    worker_id = models.CharField(max_length=200, primary_key=True)
    hostname = models.CharField(max_length=200)
    pid = models.PositiveIntegerField()
    concurrency = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)

    objects = HeartbeatQuerySet.as_manager()

    def __str__(self) -> str:
        return self.worker_id


class TaskFailure(models.Model):
    """A background task that failed for good (after its retries)."""

    task = models.CharField(max_length=200)
    worker_id = models.CharField(max_length=200, blank=True)
    error = models.CharField(max_length=500)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.task}: {self.error[:60]}"
