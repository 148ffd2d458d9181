"""Periodic jobs that never run twice at once, and say how they went.

Every periodic task wraps its work in `exclusive(name)`: the job's row is claimed with
one UPDATE (only if it is not running, or its run went stale: the worker died), the work
runs, and the row keeps the last start, duration, outcome and result for the operator
page. A second scheduler, or a run slower than its interval, finds the claim taken and
skips.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from core.models import PeriodicJob

logger = logging.getLogger(__name__)


def stale_after(name: str) -> timedelta:
    """A claim older than this belongs to a run whose worker died: three intervals of the
    job (at least a minute), so a dead worker delays a frequent job by little."""
    every = settings.PERIODIC_JOBS.get(name, (None, 3600))[1]
    return timedelta(seconds=max(3 * float(every), 60))


WHERE = f"{socket.gethostname()}:{os.getpid()}"


def exclusive(name: str, work: Callable[[], Any]) -> Any:
    """Run `work` as job `name` unless it is running elsewhere; return its result (None
    when skipped)."""
    now = timezone.now()
    PeriodicJob.objects.get_or_create(name=name)
    claimed = (
        PeriodicJob.objects.filter(name=name)
        .filter(Q(running_since__isnull=True) | Q(running_since__lt=now - stale_after(name)))
        .update(running_since=now, running_on=WHERE[:200], last_started_at=now)
    )
    if not claimed:
        PeriodicJob.objects.filter(name=name).update(skipped=F("skipped") + 1)
        return None
    started = time.perf_counter()
    outcome, result, error = "ok", None, ""
    try:
        result = work()
        return result
    except Exception as exc:
        outcome, error = "failed", f"{type(exc).__name__}: {exc}"[:500]
        logger.exception("periodic job %s failed", name)
        raise
    finally:
        PeriodicJob.objects.filter(name=name, running_on=WHERE[:200]).update(
            running_since=None,
            running_on="",
            last_finished_at=timezone.now(),
            last_duration_ms=round((time.perf_counter() - started) * 1000, 1),
            last_outcome=outcome,
            last_result=result if isinstance(result, dict) else {"result": result},
            last_error=error,
            runs=F("runs") + 1,
        )
