"""Holds: a claim on a row that lasts only while its holder is alive to renew it.

A refresh claim on an account, a webhook sender's lease on an endpoint, a run's lease: a
process takes the row with one conditional UPDATE and a `Keeper` thread renews every hold
the process has, every beat. A holder that dies — SIGKILL, a lost machine — stops
renewing, and its hold lapses within `HOLD_SECONDS` (5 s): nobody waits out a long fixed
lifetime (DESIGN §6; issue 21). Times are the database's (`Now()`), so machines whose
clocks differ still agree on which holds are alive.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Hashable, Iterator
from datetime import timedelta
from typing import Any

from django.db import connection
from django.db.models import Q
from django.db.models.functions import Now

logger = logging.getLogger(__name__)

HOLD_SECONDS = 5.0  # a hold not renewed for this long belongs to a holder that died
BEAT_SECONDS = 1.0  # how often a live holder renews


def lapses_at(seconds: float = HOLD_SECONDS) -> Any:
    """The expiry to store when a hold is taken or renewed (database time)."""
    return Now() + timedelta(seconds=seconds)


def lapsed(field: str) -> Q:
    """Rows whose hold (an expiry in `field`) is gone: never taken, or not renewed."""
    return Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__lt": Now()})


def renewed_since(field: str, seconds: float = HOLD_SECONDS) -> Q:
    """Rows whose hold (a renewal time in `field`) was renewed within `seconds`."""
    return Q(**{f"{field}__gte": Now() - timedelta(seconds=seconds)})


class Keeper:
    """One thread per process renews every hold of one kind this process has; `renew`
    gets the keys of the holds held now and updates their rows in one statement."""

    def __init__(
        self, name: str, renew: Callable[[list], Any], *, beat: Callable[[], float]
    ) -> None:
        self.name = name
        self.renew = renew
        self.beat = beat
        self.held: set[Hashable] = set()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def add(self, key: Hashable) -> None:
        with self.lock:
            self.held.add(key)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
                self.thread.start()

    def discard(self, key: Hashable) -> None:
        with self.lock:
            self.held.discard(key)

    @contextlib.contextmanager
    def held_while(self, key: Hashable) -> Iterator[None]:
        self.add(key)
        try:
            yield
        finally:
            self.discard(key)

    def _loop(self) -> None:
        while True:
            threading.Event().wait(self.beat())
            with self.lock:
                keys = list(self.held)
            if not keys:
                continue
            try:
                self.renew(keys)
            except Exception:  # the database blinked: try again at the next beat
                logger.warning("could not renew %s", self.name, exc_info=True)
            finally:
                connection.close()  # this thread's own; nothing holds it between beats
