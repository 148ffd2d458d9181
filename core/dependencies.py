"""What the portal stands on — PostgreSQL, Redis (cache and broker), the workers — and how
it answers when one of them is away (DESIGN §6).

* An outage is never a 500. Any request that meets one (in a view, a middleware, the API
  or a page) answers **503** with `Retry-After`: `database_unavailable` when PostgreSQL
  is away, `dependency_unavailable` when Redis is (`current_outage`, asked by the
  portal's handler500, and by the /mcp gate). Waits are bounded so that answer comes within 5 s: a 3 s connect
  timeout and a 3 s pool wait for PostgreSQL, 1 s socket timeouts for Redis; /healthz
  asks Redis while it waits on PostgreSQL (`redis_report`), so its waits do not add up.
* What only needs the cache fails open (the API throttle), with a logged warning.
* What needs the broker (starting a run) checks it first (`require_background_work`),
  and asks for a live worker too: 503 `dependency_unavailable` / `workers_unavailable`
  rather than queueing into nothing.
* Work queued after a commit never turns the committed change into an error
  (`enqueue_after_commit`): a broker that is down is logged, and the work's recovery job
  picks it up (queued runs are resumed, pending webhook deliveries dispatched).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from core.errors import PortalError

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
WORKER_SILENCE = timedelta(seconds=30)  # no heartbeat for this long: no worker


class Unavailable(PortalError):
    """Something the request needs is away for now: retry later."""

    status = 503
    code = "dependency_unavailable"

    def __init__(self, message: str, *, code: str | None = None, retry_after: int = 5) -> None:
        super().__init__(message, code=code, details={"retry_after": retry_after})


def _redis_errors() -> tuple[type[BaseException], ...]:
    import redis.exceptions
    from kombu.exceptions import OperationalError as BrokerError

    return (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, BrokerError)


def outage_of(exc: BaseException | None) -> tuple[str, str] | None:
    """(code, message) when `exc` means a dependency is away; None for anything else."""
    if isinstance(exc, OperationalError | InterfaceError):
        return "database_unavailable", "The database is not answering; retry in a moment."
    if exc is not None and isinstance(exc, _redis_errors()):
        return "dependency_unavailable", "A service the portal needs is away; retry shortly."
    return None


def current_outage() -> tuple[str, str] | None:
    """The outage behind the exception being handled now (handler500 runs inside it)."""
    return outage_of(sys.exc_info()[1])


def cache_failures() -> tuple[type[BaseException], ...]:
    """What a cache call raises when Redis is away (fail open on these)."""
    return (*_redis_errors(), OSError)


# One question to Redis at a time per process; health checks that come meanwhile share its
# answer, so a hung Redis never queues them up behind each other.
_checks = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dependency-check")
_asking: Future[dict[str, str]] | None = None
_asking_lock = threading.Lock()


def redis_report() -> Future[dict[str, str]]:
    """The cache's and the broker's state ("ok" / "unreachable"), asked in a thread so a
    caller can wait on the database meanwhile: a health check's waits overlap rather than
    add up (each is bounded: 1 s for the cache, 2 s for the broker). A question already
    being asked is shared, not asked again."""
    global _asking
    with _asking_lock:
        if _asking is None or _asking.done():
            _asking = _checks.submit(_ask_redis)
        return _asking


def _ask_redis() -> dict[str, str]:
    from django.core.cache import cache

    report = {"cache": "ok", "broker": "ok"}
    try:
        cache.set("healthz", 1, 5)
    except cache_failures():
        report["cache"] = "unreachable"
    if not broker_available():
        report["broker"] = "unreachable"
    return report


# --- Background work ----------------------------------------------------------------------

_broker_checked: dict[str, tuple[float, bool]] = {}


def broker_available() -> bool:
    """Whether the broker answers (checked at most every 2 s per process)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return True
    url = settings.CELERY_BROKER_URL
    cached = _broker_checked.get(url)
    if cached is not None and time.monotonic() - cached[0] < 2:
        return cached[1]
    from kombu import Connection

    try:
        options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
        with Connection(url, connect_timeout=2, transport_options=options) as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
        answer = bool(url)
    except Exception:  # any broker trouble counts as "away"
        answer = False
    _broker_checked[url] = (time.monotonic(), answer)
    return answer


def workers_alive() -> bool:
    """Whether a worker has reported within the last 30 s (always, when tasks run eagerly)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return True
    from core.models import WorkerHeartbeat

    return WorkerHeartbeat.objects.filter(last_seen__gte=timezone.now() - WORKER_SILENCE).exists()


def require_background_work() -> None:
    """Before queueing work someone waits for (a run): the broker must answer and a worker
    must be alive, else a retryable 503 — never a run queued into nothing."""
    if not broker_available():
        raise Unavailable(
            "Background work cannot be queued now: the broker is not answering. Retry in a moment.",
            retry_after=RETRY_AFTER_SECONDS,
        )
    if not workers_alive():
        raise Unavailable(
            "Background work is stopped: no worker has reported in the last 30 seconds.",
            code="workers_unavailable",
            retry_after=15,
        )


def enqueue_after_commit(send: Callable[[], Any]) -> None:
    """Queue background work once the transaction commits; a broker that is down then is
    logged, never an error for the change that committed (its recovery job queues it
    later). Tasks run eagerly (tests, one process) still raise."""
    transaction.on_commit(send, robust=not settings.CELERY_TASK_ALWAYS_EAGER)
