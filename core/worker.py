"""A worker process's life: it says it is alive (a heartbeat row every few seconds, read by
/healthz?workers=1 and the operator page), gives DB connections back while it waits on
I/O, and records tasks that failed for good."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Any

from celery.signals import task_failure, task_postrun, task_prerun, worker_ready, worker_shutdown
from django.conf import settings
from django.db import connection
from django.utils import timezone

from core import db, logcontext
from core.models import HEARTBEAT_SECONDS, TaskFailure, WorkerHeartbeat

logger = logging.getLogger(__name__)
_stop = threading.Event()


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def beat() -> None:
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id(),
        defaults={"hostname": socket.gethostname(), "pid": os.getpid(), "last_seen": now},
        create_defaults={
            "hostname": socket.gethostname(),
            "pid": os.getpid(),
            "started_at": now,
            "last_seen": now,
            "concurrency": settings.WORKER_CONCURRENCY,
        },
    )


def _heartbeat_loop() -> None:
    while not _stop.wait(HEARTBEAT_SECONDS):
        try:
            beat()
        except Exception:  # the database blinked: try again at the next beat
            logger.warning("could not write the worker heartbeat", exc_info=True)
        finally:
            connection.close()  # this thread's own; nothing holds it between beats


@worker_ready.connect
def on_worker_ready(**kwargs: Any) -> None:
    db.RELEASE["enabled"] = True
    beat()
    threading.Thread(target=_heartbeat_loop, name="heartbeat", daemon=True).start()


@worker_shutdown.connect
def on_worker_shutdown(**kwargs: Any) -> None:
    _stop.set()
    WorkerHeartbeat.objects.filter(worker_id=worker_id()).delete()


@task_failure.connect
def on_task_failure(sender: Any = None, exception: Any = None, **kwargs: Any) -> None:
    TaskFailure.objects.create(
        task=getattr(sender, "name", str(sender))[:200],
        worker_id=worker_id(),
        error=f"{type(exception).__name__}: {exception}"[:500],
    )


# Each task's start, by task id: its clock and its log context (the same thread ends it).
_running: dict[str, tuple[float, Any]] = {}


@task_prerun.connect
def on_task_start(task_id: str = "", task: Any = None, args: Any = None, **kwargs: Any) -> None:
    _running[task_id] = (time.perf_counter(), logcontext.begin())
    if getattr(task, "name", "").endswith(".run_agent") and args:
        logcontext.note(run_id=str(args[0]))


@task_postrun.connect
def on_task_end(task_id: str = "", task: Any = None, state: Any = None, **kwargs: Any) -> None:
    """One log line per task (issue 28): name, id, outcome, time, the runs and executions
    it touched."""
    started, token = _running.pop(task_id, (None, None))
    noted = logcontext.end(token) if token is not None else {}
    name = getattr(task, "name", "task")
    logcontext.TASKS.info(
        "%s %s",
        name,
        state,
        extra={
            "task": name,
            "task_id": task_id,
            "outcome": str(state or ""),
            "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
            **noted,
        },
    )
