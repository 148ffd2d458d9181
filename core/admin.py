"""Operators' records in the Django admin, read-only (the operations page is /ops/)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from core.models import PeriodicJob, TaskFailure, WorkerHeartbeat


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PeriodicJob)
class PeriodicJobAdmin(ReadOnly):
    list_display = (
        "name",
        "last_started_at",
        "last_duration_ms",
        "last_outcome",
        "runs",
        "skipped",
    )


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnly):
    list_display = ("worker_id", "concurrency", "started_at", "last_seen")


@admin.register(TaskFailure)
class TaskFailureAdmin(ReadOnly):
    list_display = ("at", "task", "worker_id", "error")
