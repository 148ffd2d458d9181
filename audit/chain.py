"""The hash chains: what an event's hash covers, and verification from the checkpoint.

Each event's hash covers its own content and the previous event's hash in the
same chain (one chain per organization, one `global` chain for account events),
so an edited, deleted or reordered row is detectable by `verify_chain`.
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


def chain_key(organization: Any | None) -> str:
    return f"org-{organization.pk}" if organization is not None else GLOBAL_CHAIN


def compute_hash(event: AuditEvent) -> str:
    content = {name: getattr(event, name) for name in HASHED_FIELDS}
    content["created_at"] = event.created_at.isoformat()
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


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
