"""The hash chains: what an event's hashes cover, and verification from the checkpoint.

An event is written with its `content_hash` — SHA-256 of what it records — and no place
yet; the sequencer (audit/sequencer.py) then gives it the next position in its chain
(one chain per organization, one `global` chain for account events) and its `hash`,
which covers its content, its position and the previous event's hash. So an edited,
deleted or reordered row is detectable by `verify_chain`: an edit made before the
sequencer chained the event still breaks its content hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from audit.models import AuditChain, AuditEvent

GLOBAL_CHAIN = "global"

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


# What an event records, whatever its place in the chain.
CONTENT_FIELDS = tuple(name for name in HASHED_FIELDS if name not in ("seq", "prev_hash"))


def chain_key(organization: Any | None) -> str:
    return f"org-{organization.pk}" if organization is not None else GLOBAL_CHAIN


def _digest(event: AuditEvent, names: tuple[str, ...]) -> str:
    content = {name: getattr(event, name) for name in names}
    content["created_at"] = event.created_at.isoformat()
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def compute_hash(event: AuditEvent) -> str:
    """The chain hash: the content, the position and the previous event's hash."""
    return _digest(event, HASHED_FIELDS)


def compute_content_hash(event: AuditEvent) -> str:
    """The writer's commitment: the content alone."""
    return _digest(event, CONTENT_FIELDS)


@dataclass(frozen=True)
class ChainReport:
    chain: str
    count: int
    broken_event_id: int | None = None
    broken_seq: int | None = None
    reason: str = ""
    pending: int = 0  # written, not chained yet (the sequencer chains them within seconds)

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
    """Recompute a chain from its checkpoint, and the content hashes of the events not
    chained yet; report the first event that does not fit."""
    head = AuditChain.objects.filter(key=key).first()
    if head is None:
        head = AuditChain(key=key)  # nothing chained yet: only pending events to check
    expected_seq, expected_prev, count = head.checkpoint_seq + 1, head.checkpoint_hash, 0
    for event in _events(key, head.checkpoint_seq):
        if event.seq != expected_seq:
            return ChainReport(
                key,
                count,
                event.pk,
                event.seq,
                f"events {expected_seq}…{(event.seq or 0) - 1} missing",
            )
        if event.prev_hash != expected_prev:
            return ChainReport(key, count, event.pk, event.seq, "previous-hash link broken")
        if compute_hash(event) != event.hash or (
            event.content_hash and compute_content_hash(event) != event.content_hash
        ):
            return ChainReport(key, count, event.pk, event.seq, "content does not match its hash")
        expected_seq, expected_prev, count = event.seq + 1, event.hash, count + 1
    if expected_seq - 1 != head.last_seq or expected_prev != head.last_hash:
        return ChainReport(
            key, count, None, expected_seq, f"events after {expected_seq - 1} missing"
        )
    pending = AuditEvent.objects.filter(chain=key, seq__isnull=True)
    for event in pending.order_by("id").iterator(chunk_size=2000):
        if compute_content_hash(event) != event.content_hash:
            return ChainReport(key, count, event.pk, None, "content does not match its hash")
    return ChainReport(key, count, pending=pending.count())


def verify_organization(organization: Any | None) -> ChainReport:
    return verify_chain(chain_key(organization))


def all_chain_keys() -> list[str]:
    chained = set(AuditChain.objects.values_list("key", flat=True))
    pending = set(
        AuditEvent.objects.filter(seq__isnull=True).values_list("chain", flat=True).distinct()
    )
    return sorted(chained | pending)
