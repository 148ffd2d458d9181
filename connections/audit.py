"""The audit trail: one `record()` for every event, and chain verification.

Each event's hash covers its own content and the previous event's hash in the
same chain (one chain per organization, one `global` chain for account events),
so an edited, deleted or reordered row is detectable by `verify_chain`.
Appends lock the chain head row (SELECT … FOR UPDATE on PostgreSQL; SQLite's
IMMEDIATE transactions serialize writers), so concurrent writers never fork it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import connection, transaction
from django.db.models import Field
from django.http import HttpRequest
from django.utils import timezone

from connections.models import AuditChain, AuditEvent

GLOBAL_CHAIN = "global"
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
    def from_request(cls, request: HttpRequest | None) -> Actor:
        """The API key a request authenticated with, else its user, else anonymous."""
        if request is None:
            return cls.system()
        api_key = getattr(request, "api_key", None)
        if api_key is not None:
            return cls.api_key(api_key)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return cls.user(user)
        return cls.anonymous()


def chain_key(organization: Any | None) -> str:
    return f"org-{organization.pk}" if organization is not None else GLOBAL_CHAIN


def redact(value: Any, *, key: str = "") -> Any:
    """Remove values under secret-looking keys and cut long strings, recursively."""
    if key and SECRET_KEY_PATTERN.search(key):
        return REDACTED
    if isinstance(value, Mapping):
        return {str(k): redact(v, key=str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value[:50]]
    if isinstance(value, str) and len(value) > MAX_STRING:
        return value[:MAX_STRING] + f"… ({len(value)} chars)"
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _request_context(request: HttpRequest | None) -> dict[str, Any]:
    if request is None:
        return {"request_id": "", "ip": None, "user_agent": ""}
    return {
        "request_id": getattr(request, "request_id", "")[:64],
        "ip": request.META.get("REMOTE_ADDR") or None,
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:255],
    }


HASHED_FIELDS = (
    "chain",
    "seq",
    "organization_id",
    "created_at",
    "actor_type",
    "actor_id",
    "actor_label",
    "identifier",
    "action",
    "target_type",
    "target_id",
    "outcome",
    "metadata",
    "request_id",
    "ip",
    "user_agent",
    "prev_hash",
)


def compute_hash(event: AuditEvent) -> str:
    content = {name: getattr(event, name) for name in HASHED_FIELDS}
    content["created_at"] = event.created_at.isoformat()
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


# The head table is AuditChain's (connections_auditchain); constant SQL, parameters bound.
READ_HEAD_SQL = "SELECT last_seq, last_hash FROM connections_auditchain WHERE key = %s"
LOCK_HEAD_SQL = READ_HEAD_SQL + " FOR UPDATE"
UPDATE_HEAD_SQL = "UPDATE connections_auditchain SET last_seq = %s, last_hash = %s WHERE key = %s"


@cache
def _insert_statement(vendor: str) -> tuple[str, tuple[Field, ...], bool]:
    """INSERT for one event, built once per database vendor from the model's fields."""
    fields = tuple(f for f in AuditEvent._meta.concrete_fields if not f.primary_key)
    quote = connection.ops.quote_name
    returning = connection.features.can_return_columns_from_insert
    # Only the model's own table and column names go into the text; values are bound.
    sql = (
        f"INSERT INTO {quote(AuditEvent._meta.db_table)} "  # noqa: S608
        f"({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
        + (f" RETURNING {quote(AuditEvent._meta.pk.column)}" if returning else "")
    )
    return sql, fields, returning


def _insert(event: AuditEvent) -> None:
    """Plain SQL for the same reason as the head lock; values prepared by each field."""
    sql, fields, returning = _insert_statement(connection.vendor)
    values = [field.get_db_prep_save(getattr(event, field.attname), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        event.pk = (
            cursor.fetchone()[0]
            if returning
            else connection.ops.last_insert_id(cursor, AuditEvent._meta.db_table, "id")
        )
    event._state.adding = False
    event._state.db = connection.alias


def _lock_chain_head(key: str) -> tuple[int, str]:
    """Lock the chain's head row (creating it on first use); return (last seq, last hash).

    Plain SQL: this runs on every audited action, and the ORM's query compilation
    costs more than the query itself here.
    """
    sql = LOCK_HEAD_SQL if connection.features.has_select_for_update else READ_HEAD_SQL
    with connection.cursor() as cursor:
        cursor.execute(sql, [key])
        row = cursor.fetchone()
    if row is not None:
        return row[0], row[1]
    AuditChain.objects.get_or_create(key=key)  # first event of this chain
    return _lock_chain_head(key)


def record(
    *,
    action: str,
    organization: Any | None = None,
    actor: Actor | None = None,
    request: HttpRequest | None = None,
    identifier: str = "",
    target_type: str = "",
    target_id: Any = "",
    outcome: str = AuditEvent.Outcome.SUCCESS,
    metadata: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to its organization's chain, inside the caller's transaction."""
    key = chain_key(organization)
    # Round-trip through JSON so the hash is computed over exactly what the DB returns.
    clean_metadata = json.loads(json.dumps(redact(dict(metadata or {})), default=str))
    actor = actor or Actor.from_request(request)
    with transaction.atomic():
        last_seq, last_hash = _lock_chain_head(key)
        event = AuditEvent(
            organization=organization,
            chain=key,
            seq=last_seq + 1,
            created_at=timezone.now(),
            actor_type=actor.type,
            actor_id=actor.id,
            actor_label=actor.label[:255],
            identifier=identifier[:255],
            action=action,
            target_type=target_type,
            target_id=str(target_id)[:255],
            outcome=outcome,
            metadata=clean_metadata,
            prev_hash=last_hash,
            **_request_context(request),
        )
        event.hash = compute_hash(event)
        _insert(event)
        with connection.cursor() as cursor:
            cursor.execute(UPDATE_HEAD_SQL, [event.seq, event.hash, key])
    return event


@dataclass(frozen=True)
class ChainReport:
    chain: str
    count: int
    broken_event_id: int | None = None
    broken_seq: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_seq is None and not self.reason


def _events(key: str, after_seq: int) -> Iterator[AuditEvent]:
    return (
        AuditEvent.objects.filter(chain=key, seq__gt=after_seq)
        .order_by("seq")
        .iterator(chunk_size=2000)
    )


def verify_chain(key: str) -> ChainReport:
    """Recompute a chain from its checkpoint; report the first event that does not fit."""
    head = AuditChain.objects.filter(key=key).first()
    if head is None:
        return ChainReport(key, 0)
    expected_seq, expected_prev, count = head.checkpoint_seq + 1, head.checkpoint_hash, 0
    for event in _events(key, head.checkpoint_seq):
        if event.seq != expected_seq:
            return ChainReport(
                key, count, event.pk, event.seq, f"events {expected_seq}…{event.seq - 1} missing"
            )
        if event.prev_hash != expected_prev:
            return ChainReport(key, count, event.pk, event.seq, "previous-hash link broken")
        if compute_hash(event) != event.hash:
            return ChainReport(key, count, event.pk, event.seq, "content does not match its hash")
        expected_seq, expected_prev, count = event.seq + 1, event.hash, count + 1
    if expected_seq - 1 != head.last_seq or expected_prev != head.last_hash:
        return ChainReport(
            key, count, None, expected_seq, f"events after {expected_seq - 1} missing"
        )
    return ChainReport(key, count)


def verify_organization(organization: Any | None) -> ChainReport:
    return verify_chain(chain_key(organization))


def all_chain_keys() -> list[str]:
    return list(AuditChain.objects.order_by("key").values_list("key", flat=True))
