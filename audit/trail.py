"""The audit trail's one way in: `record()` for every event, and write-ahead intents.

An append is one INSERT — the event with its content hash — and touches no shared row:
the sequencer (audit/sequencer.py) gives events their place in their chain in batches,
so concurrent writers neither wait on each other nor fork a chain (audit/chain.py says
what the hashes cover).

Write-ahead (DESIGN §12 rule 17): an action with a side effect elsewhere (a tool
call at a provider) is `begin`-ed first — a `pending` event and an OpenIntent row
in their own commit — and `complete`-d after. Nothing can happen at the provider
without its event already on disk; if the process dies in between, the intent
stays open and `intents.close_stale_intents` records the outcome as unknown.

Whatever the text, the audit write never fails on it: NUL characters and lone
surrogates (which PostgreSQL cannot store) are written as visible escapes.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import DatabaseError, connection, models, transaction
from django.db.models import Field
from django.http import HttpRequest
from django.utils import timezone

from audit.chain import GLOBAL_CHAIN, chain_key, compute_content_hash
from audit.models import AuditEvent, OpenIntent
from audit.signals import followers_of
from core import rows, tracing
from core.db import bound_cursor
from core.tenancy import CallerLike
from core.text import storable

__all__ = ["GLOBAL_CHAIN", "Actor", "Carried", "Intent", "begin", "complete", "record", "redact"]

logger = logging.getLogger(__name__)

SECRET_KEY_PATTERN = re.compile(
    r"(pass(word)?|secret|token|api[_-]?key|authorization|auth|cookie|credential|"
    r"private|code_verifier|^code$|session)",
    re.IGNORECASE,
)
REDACTED = "[redacted]"
MAX_STRING = 200


@dataclass(frozen=True)
class Actor:
    type: str
    id: str = ""
    label: str = ""

    @classmethod
    def user(cls, user: Any) -> Actor:
        return cls(AuditEvent.ActorType.USER, str(user.pk), user.email)

    @classmethod
    def api_key(cls, key: Any) -> Actor:
        return cls(AuditEvent.ActorType.API_KEY, key.prefix, key.name)

    @classmethod
    def system(cls, label: str = "portal") -> Actor:
        return cls(AuditEvent.ActorType.SYSTEM, "", label)

    @classmethod
    def anonymous(cls) -> Actor:
        return cls(AuditEvent.ActorType.ANONYMOUS)

    @classmethod
    def of(cls, caller: CallerLike) -> Actor:
        """The actor of a portal.callers.Caller: its API key, else its user."""
        if caller.api_key is not None:
            return cls.api_key(caller.api_key)
        if caller.user is not None:
            return cls.user(caller.user)
        return cls.system(caller.via or "portal")

    @classmethod
    def from_request(cls, request: HttpRequest | None) -> Actor:
        """The request's caller (its API key, else its user), else its signed-in user,
        else anonymous."""
        if request is None:
            return cls.system()
        caller = getattr(request, "caller", None)
        if caller is not None:
            return cls.of(caller)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return cls.user(user)
        return cls.anonymous()


COUNT_KEY_PATTERN = re.compile(r"(^|_)(tokens|count|counts)$", re.IGNORECASE)


def redact(value: Any, *, key: str = "") -> Any:
    """Remove values under secret-looking keys and cut long strings, recursively."""
    if key and SECRET_KEY_PATTERN.search(key):
        # A secret is text; a flag (api_key_changed) or a count (tokens) is not.
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, (int, float)) and COUNT_KEY_PATTERN.search(key):
            return value
        return REDACTED
    if isinstance(value, Mapping):
        return {storable(str(k)): redact(v, key=str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value[:50]]
    if isinstance(value, str):
        value = storable(value)
        return value[:MAX_STRING] + f"… ({len(value)} chars)" if len(value) > MAX_STRING else value
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return storable(str(value))


def _request_context(request: HttpRequest | None) -> dict[str, Any]:
    if request is None:
        return {"request_id": "", "ip": None, "user_agent": ""}
    return {
        "request_id": getattr(request, "request_id", "")[:64],
        "ip": request.META.get("REMOTE_ADDR") or None,
        "user_agent": storable(request.META.get("HTTP_USER_AGENT", ""))[:255],
    }


# Constant SQL over the models' own tables; every value is a bound parameter.
INTENTS = OpenIntent._meta.db_table
OPEN_INTENT_SQL = f"INSERT INTO {INTENTS} (event_id, action, created_at) VALUES (%s, %s, %s)"  # noqa: S608
CLOSE_INTENT_SQL = f"DELETE FROM {INTENTS} WHERE event_id = %s"  # noqa: S608


@cache
def _append_statement(
    open_intent: bool, close_intent: bool, along: tuple[str, ...] = (), no_flush_wait: bool = False
) -> str:
    """PostgreSQL: the event with its intent row opened or closed, and the statements
    that go `along` with it, in one statement (one round trip, one snapshot).
    `no_flush_wait`: its own commit does not wait for the WAL flush (rows.NO_FLUSH_WAIT)."""
    insert = rows.insert_statement(AuditEvent)
    parts = [f"WITH inserted AS ({insert})"]
    if open_intent:
        parts.append(
            f", opened AS (INSERT INTO {INTENTS} (event_id, action, created_at) "  # noqa: S608
            "SELECT id, %s, %s FROM inserted)"
        )
    if close_intent:
        parts.append(f", closed AS (DELETE FROM {INTENTS} WHERE event_id = %s)")  # noqa: S608
    parts += rows.along_parts(along)
    returned = f"id, {rows.NO_FLUSH_WAIT}" if no_flush_wait else "id"
    parts.append(f" SELECT {returned} FROM inserted")  # noqa: S608
    return "".join(parts)


# Values _event() gives in the form psycopg takes as they are (text, numbers, aware
# datetimes, a foreign key's id): on PostgreSQL their fields' preparation is skipped.
TAKEN_AS_THEY_ARE = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.DateTimeField,
    models.ForeignKey,
)


@cache
def _prepared_fields(vendor: str) -> tuple[tuple[str, Field | None], ...]:
    """(attname, the field to prepare the value with, or None: as it is), in insert order."""
    _, fields = rows.insert_columns(AuditEvent)
    return tuple(
        (
            field.attname,
            None if vendor == "postgresql" and isinstance(field, TAKEN_AS_THEY_ARE) else field,
        )
        for field in fields
    )


def _values(event: AuditEvent) -> list[Any]:
    return [
        getattr(event, attname)
        if field is None
        else field.get_db_prep_save(getattr(event, attname), connection)
        for attname, field in _prepared_fields(connection.vendor)
    ]


# A statement written with an event, in its commit: (SQL, parameters). Its SQL is
# constant text (it is part of a cached statement); every value is a parameter.
Statement = tuple[str, list[Any]]


def _append(
    event: AuditEvent,
    *,
    open_intent: str = "",
    close_intent: int | None = None,
    along: Sequence[Statement] = (),
    no_flush_wait: bool = False,
    carried: Carried | None = None,
) -> AuditEvent:
    """Write the event with its content hash; no chain head is touched: the sequencer
    gives it its place. `no_flush_wait`: its commit need not wait for the WAL flush.

    In the caller's transaction if there is one. Outside one, on PostgreSQL, an event no
    follower writes along with (audit/signals.py) is one statement that commits itself —
    its intent rows and the statements `along` with it included, so still all or nothing
    — sparing the BEGIN and COMMIT round trips of a transaction of its own; a plain
    event (no intent row) given `carried` is handed to it instead, to go with the
    caller's next statement. Otherwise the event, and what its followers write, share
    one transaction.
    """
    event.content_hash = compute_content_hash(event)
    follow = followers_of(event)
    postgres = connection.vendor == "postgresql"
    if postgres and not follow and not connection.in_atomic_block and connection.get_autocommit():
        if carried is not None and not (open_intent or close_intent or no_flush_wait):
            insert = (rows.insert_statement(AuditEvent), _values(event))
            carried.events.append((event, [insert, *along]))
            return event
        _insert(event, open_intent, close_intent, along, no_flush_wait=no_flush_wait)
    else:
        outermost = not connection.in_atomic_block
        with transaction.atomic(savepoint=False):
            if no_flush_wait and outermost and postgres:
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit = off")
            _insert(event, open_intent, close_intent, along, no_flush_wait=False)
            for work in follow:
                work()
    return event


def _insert(
    event: AuditEvent,
    open_intent: str,
    close_intent: int | None,
    along: Sequence[Statement],
    *,
    no_flush_wait: bool,
) -> None:
    """The INSERT of the event, its intent row and the statements along with it.

    Plain SQL: this runs on every audited action, and the ORM's query compilation costs
    more than the query itself here; on PostgreSQL one statement, bound (and prepared)
    by the server.
    """
    with bound_cursor() as cursor:
        if connection.vendor == "postgresql":
            params = _values(event)
            if open_intent:
                params += [open_intent, event.created_at]
            if close_intent is not None:
                params.append(close_intent)
            for _, values in along:
                params += values
            if open_intent or close_intent is not None or along or no_flush_wait:
                sql = _append_statement(
                    bool(open_intent),
                    close_intent is not None,
                    tuple(s for s, _ in along),
                    no_flush_wait,
                )
                cursor.execute(sql, params)
            else:
                cursor.execute(rows.insert_statement(AuditEvent), params)
            pk = cursor.fetchone()[0]
        else:
            cursor.execute(rows.insert_statement(AuditEvent), _values(event))
            pk = cursor.fetchone()[0]
            event.pk = pk
            if open_intent:
                created = connection.ops.adapt_datetimefield_value(event.created_at)
                cursor.execute(OPEN_INTENT_SQL, [event.pk, open_intent, created])
            if close_intent is not None:
                cursor.execute(CLOSE_INTENT_SQL, [close_intent])
            for sql, values in along:
                cursor.execute(sql, values)
    rows.inserted(event, pk)


def _event(
    *,
    action: str,
    organization: Any | None,
    actor: Actor,
    request: HttpRequest | None,
    identifier: str,
    target_type: str,
    target_id: Any,
    outcome: str,
    metadata: Mapping[str, Any] | None,
) -> AuditEvent:
    """The event's content (its place in the chain and its hash come from the sequencer)."""
    # Round-trip through JSON so the hash is computed over exactly what the DB returns.
    clean_metadata = json.loads(json.dumps(redact(dict(metadata or {})), default=str))
    return AuditEvent(
        organization=organization,
        chain=chain_key(organization),
        created_at=timezone.now(),
        actor_type=actor.type,
        actor_id=storable(actor.id)[:64],
        actor_label=storable(actor.label)[:255],
        identifier=storable(identifier)[:255],
        action=action,
        target_type=storable(target_type)[:64],
        target_id=storable(str(target_id))[:255],
        outcome=outcome,
        metadata=clean_metadata,
        trace_id=tracing.current_trace_id(),
        **_request_context(request),
    )


def record(
    *,
    action: str,
    organization: Any | None = None,
    actor: Actor | None = None,
    caller: CallerLike | None = None,
    request: HttpRequest | None = None,
    identifier: str = "",
    target_type: str = "",
    target_id: Any = "",
    outcome: str = AuditEvent.Outcome.SUCCESS,
    metadata: Mapping[str, Any] | None = None,
    along: Sequence[Statement] = (),
    carried: Carried | None = None,
) -> AuditEvent:
    """Append one event to its organization's chain, inside the caller's transaction,
    with the statements `along` with it (in its commit) — or hand it to `carried`, to go
    with the caller's next statement, where it can (see Carried).

    The actor is `actor`, else the `caller`'s, else the request's.
    """
    event = _event(
        action=action,
        organization=organization,
        actor=actor or (Actor.of(caller) if caller is not None else Actor.from_request(request)),
        request=request,
        identifier=identifier,
        target_type=target_type,
        target_id=target_id,
        outcome=outcome,
        metadata=metadata,
    )
    return _append(event, along=along, carried=carried)


class Carried:
    """Events to be written with the caller's next statement rather than on their own:
    an agent run's tool step carries its call's event (agents/leases.save_with_step), one
    round trip and one commit less per tool call. Only an event nobody follows, outside
    any transaction, on PostgreSQL, is carried (any other is written at once), as plain
    INSERTs to go `along`; the statement carrying them must commit with a WAL flush.

    Used as a context manager: whatever was not `sent` when the block ends — the
    statement failed, or was never sent — is written on its own then, so an event is
    never lost to its carrier's failure, nor written twice."""

    def __init__(self) -> None:
        self.events: list[tuple[AuditEvent, list[Statement]]] = []

    def statements(self) -> list[Statement]:
        return [statement for _, statements in self.events for statement in statements]

    def sent(self) -> None:
        """The statement carrying them was executed: they are written."""
        self.events.clear()

    def hand_over(self) -> list[tuple[AuditEvent, list[Statement]]]:
        """The statement carrying them was sent ahead (core/db.send_ahead): they are its
        to write — with it, or with `write_unsent` if it fails."""
        events, self.events = self.events, []
        return events

    @staticmethod
    def write_unsent(events: list[tuple[AuditEvent, list[Statement]]], *, failing: bool) -> None:
        """Write events their carrier did not, each on its own; `failing`: after another
        error, which a database error here must not hide (it is logged)."""
        try:
            for event, statements in events:
                _append(event, along=statements[1:])
        except DatabaseError:
            if not failing:
                raise
            logger.exception("an audit event could not be written after a failure")

    def __enter__(self) -> Carried:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        self.write_unsent(self.hand_over(), failing=kind is not None)


# --- Write-ahead intents --------------------------------------------------------------


@dataclass(frozen=True)
class Intent:
    """A begun action: complete it with `complete()`."""

    event_id: int
    action: str
    organization: Any | None
    actor: Actor
    identifier: str
    target_type: str
    target_id: str


def begin(
    *,
    action: str,
    started_action: str,
    organization: Any | None,
    actor: Actor,
    request: HttpRequest | None = None,
    identifier: str = "",
    target_type: str = "",
    target_id: Any = "",
    metadata: Mapping[str, Any] | None = None,
) -> Intent:
    """Record that `action` starts (`started_action`, outcome pending) and commit it.

    Call it outside any transaction: the point is that the event is durable
    before the side effect happens.
    """
    event = _event(
        action=started_action,
        organization=organization,
        actor=actor,
        request=request,
        identifier=identifier,
        target_type=target_type,
        target_id=target_id,
        outcome=AuditEvent.Outcome.PENDING,
        metadata=metadata,
    )
    _append(event, open_intent=action)  # committed here: called outside any transaction
    return Intent(
        event.pk, action, organization, actor, event.identifier, target_type, event.target_id
    )


def complete(
    intent: Intent,
    *,
    outcome: str,
    request: HttpRequest | None = None,
    metadata: Mapping[str, Any] | None = None,
    along: Sequence[Statement] = (),
) -> AuditEvent:
    """Record the action's result and close its intent, with the statements `along`
    with it, in one commit.

    The commit does not wait for its WAL flush on PostgreSQL (synchronous_commit off):
    the durable record is the pending event written before the action; a crash that
    loses this completion leaves the intent open, and the outcome reads "unknown" —
    never "nothing happened".
    """
    event = _event(
        action=intent.action,
        organization=intent.organization,
        actor=intent.actor,
        request=request,
        identifier=intent.identifier,
        target_type=intent.target_type,
        target_id=intent.target_id,
        outcome=outcome,
        metadata={**(metadata or {}), "started_event": intent.event_id},
    )
    return _append(event, close_intent=intent.event_id, along=along, no_flush_wait=True)
