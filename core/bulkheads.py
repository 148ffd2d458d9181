"""Bulkheads: each kind of background work has its own bounded share of a worker's
threads (DESIGN §13 rule 22).

A worker process runs agent runs, token upkeep and webhook senders on one thread pool
(WORKER_CONCURRENCY). Without bounds, one organization's slow webhook endpoints could
hold every thread while every tenant's runs and refreshes wait. Each kind may use at most
its share (WORKER_BULKHEADS); a task that finds its kind's share full does not take a
thread to wait: it is queued again a moment later (`defer`), so the threads stay free for
the other kinds. The shares add up to less than the pool, so each kind always has room.

Shares are per process; with several worker processes each has its own.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.conf import settings

T = TypeVar("T")
DEFER_SECONDS = (1.0, 3.0)  # a deferred task comes back after a jittered moment


@dataclass
class Bulkhead:
    kind: str
    size: int
    in_use: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def try_enter(self) -> bool:
        with self.lock:
            if self.in_use >= self.size:
                return False
            self.in_use += 1
            return True

    def leave(self) -> None:
        with self.lock:
            self.in_use -= 1


_bulkheads: dict[str, Bulkhead] = {}
_registry_lock = threading.Lock()


def bulkhead(kind: str) -> Bulkhead:
    """This process's bulkhead for a kind of work, sized from WORKER_BULKHEADS."""
    size = int(settings.WORKER_BULKHEADS[kind])
    with _registry_lock:
        found = _bulkheads.get(kind)
        # A changed size (tests, a reload) starts a fresh count only when idle.
        if found is None or (found.size != size and found.in_use == 0):
            found = _bulkheads[kind] = Bulkhead(kind, size)
        return found


def defer_delay() -> float:
    return random.uniform(*DEFER_SECONDS)  # noqa: S311 (spreading retries, not a secret)


def within(kind: str, work: Callable[[], T], *, defer: Callable[[float], Any]) -> T | None:
    """Run `work` inside the kind's share, or `defer(seconds)` it when the share is full
    (then None). Tasks run eagerly (tests, one process) are never deferred."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return work()
    share = bulkhead(kind)
    if not share.try_enter():
        defer(defer_delay())
        return None
    try:
        return work()
    finally:
        share.leave()
