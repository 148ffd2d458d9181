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
from collections.abc import Iterator, Sequence
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Field, Q
from django.utils import timezone

from agents.models import AgentRun, AgentStep, RunStatus
from agents.runs import enqueue
from audit.trail import Carried, Statement
from core import rows
from core.db import bound_cursor, send_ahead
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


def save_with_step(
    run: AgentRun,
    fields: tuple[str, ...],
    *,
    step: AgentStep,
    along: Sequence[Statement] = (),
    carried: Carried | None = None,
    ahead: bool = False,
    held: bool = False,
) -> None:
    """Save these fields of the run and insert its new `step`, only while this worker
    holds the lease; the statements `along` with them (a usage count) go too, and the
    audit events `carried` (its tool call's): then the commit waits for its WAL flush,
    as every event's own commit does.

    On PostgreSQL one statement: outside a transaction it commits itself, one round trip
    per agent step instead of BEGIN, three statements and COMMIT — and without waiting
    for its WAL flush. A step lost in a database crash (only the last fraction of a
    second of commits can be) leaves the run at its previous step: resumed, it asks the
    model again or repeats a read. Never a write: a write's step is written ahead and
    completed in commits that wait for the flush, and a flushed commit flushes every
    earlier one; each call's audit event is flushed too. What goes along is written even
    when the lease turns out lost (the tokens it counts were spent); elsewhere it is
    written first, then the run and the step in one transaction.

    `ahead`: sent without waiting for its answer where it can be (core/db.send_ahead),
    read before the thread's next query or outbound request — where LeaseLost is raised,
    and where, if the statement failed, its carried events are written on their own.
    `held`: held and sent later (core/db.send_ahead): after the next tool call's account
    lookup, running while a read call's request is out (only a step carrying no events).
    """
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            for sql, params in along:
                cursor.execute(sql, params)
        with transaction.atomic():
            save(run, *fields)
            step.save()
        return
    # Carried events ride only a statement that commits itself: in a transaction they
    # could be rolled back after they were counted as sent (they are written on their
    # own when the carrier's block ends).
    autocommitted = not connection.in_atomic_block
    events = carried.statements() if carried is not None and autocommitted else []
    along = [*along, *events]
    sql = _save_with_step_statement(
        fields,
        type(step),
        tuple(sql for sql, _ in along),
        no_flush_wait=autocommitted and not events,
    )
    values = [_run_field(name).get_db_prep_save(getattr(run, name), connection) for name in fields]
    params = [*values, run.pk, ME, *rows.insert_values(step)]
    for _, more in along:
        params += more

    def answered(row: tuple | None) -> None:
        if row is None:
            raise LeaseLost(str(run.pk))
        rows.inserted(step, row[0])

    handed: list = []  # the carried events, once the statement carrying them is sent
    if (ahead or (held and not events)) and send_ahead(
        sql,
        params,
        answered=answered,
        failed=lambda: Carried.write_unsent(handed, failing=True),
        held=held and not events,
    ):
        if events and carried is not None:
            handed += carried.hand_over()
        return
    with bound_cursor() as cursor:
        cursor.execute(sql, params)
        if events and carried is not None:
            carried.sent()  # written, whether or not the lease still held
        row = cursor.fetchone()
    answered(row)


@cache
def _run_field(name: str) -> Field:
    return next(f for f in AgentRun._meta.concrete_fields if f.name == name)


@cache
def _save_with_step_statement(
    fields: tuple[str, ...],
    step_model: type[AgentStep],
    along: tuple[str, ...],
    *,
    no_flush_wait: bool,
) -> str:
    """UPDATE the run where this worker holds its lease; INSERT the step only if it did;
    the statements along; the step's id back (no row: the lease was lost). With
    `no_flush_wait`, its own commit does not wait for the WAL flush (rows.NO_FLUSH_WAIT)."""
    quote = connection.ops.quote_name
    run_table, step_table = quote(AgentRun._meta.db_table), quote(step_model._meta.db_table)
    assignments = ", ".join(f"{quote(_run_field(f).column)} = %s" for f in fields)
    columns, step_fields = rows.insert_columns(step_model)
    placeholders = ", ".join(["%s"] * len(step_fields))
    pk, step_pk = quote(AgentRun._meta.pk.column), quote(step_model._meta.pk.column)
    returned = f"{step_pk}, {rows.NO_FLUSH_WAIT}" if no_flush_wait else step_pk
    # Table and column names come from the models; every value is a parameter.
    parts = [
        f"WITH saved AS (UPDATE {run_table} SET {assignments} "  # noqa: S608
        f"WHERE {pk} = %s AND {quote('lease_owner')} = %s RETURNING {pk}), "
        f"step AS (INSERT INTO {step_table} ({columns}) SELECT {placeholders} FROM saved "
        f"RETURNING {step_pk})",
        *rows.along_parts(along),
        f" SELECT {returned} FROM step",  # noqa: S608
    ]
    return "".join(parts)


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


def resume_stalled_runs() -> int:
    """Hand runs whose worker died back to the queue (their lease lapsed); end those past
    their wall-clock limit. The periodic job `resume_stalled_runs` calls it."""
    stalled = stalled_run_ids()
    for run_id in stalled:
        enqueue(run_id)
    return len(stalled)
