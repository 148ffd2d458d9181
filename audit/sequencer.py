"""The sequencer: gives written audit events their place in their chain, in batches.

Appends touch no shared row (audit/trail.py writes each event with its content hash and
no position), so a busy organization's requests never queue behind one another on a
chain head. Every second or so the sequencer (the periodic job `sequence_audit`, one at a
time) takes each chain's events not chained yet, oldest first, gives them the next
positions and their chain hashes, and moves the chain's head — one transaction per
batch, the head locked only by it. This is Certificate Transparency's shape (a log
accepts entries at once and merges them into its tree within a maximum merge delay):
here the delay is the job's period, and an event is tamper-evident from the start,
through the content hash its writer stored with it.
"""

from __future__ import annotations

from django.db import transaction

from audit.chain import compute_hash
from audit.models import AuditChain, AuditEvent

BATCH = 5000


def pending_chains() -> list[str]:
    """The chains with events not chained yet (one scan of the small partial index
    audit_org_unchained: only events not chained yet are in it)."""
    return list(
        AuditEvent.objects.filter(seq__isnull=True).values_list("chain", flat=True).distinct()
    )


def sequence_chain(key: str, *, batch: int = BATCH) -> int:
    """Chain up to `batch` of this chain's waiting events; how many it chained."""
    with transaction.atomic():
        AuditChain.objects.get_or_create(key=key)
        head = AuditChain.objects.select_for_update().get(key=key)
        waiting = list(
            AuditEvent.objects.filter(chain=key, seq__isnull=True).order_by("id")[:batch]
        )
        seq, previous = head.last_seq, head.last_hash
        for event in waiting:
            seq += 1
            event.seq, event.prev_hash = seq, previous
            event.hash = previous = compute_hash(event)
        if waiting:
            AuditEvent.objects.bulk_update(waiting, ["seq", "prev_hash", "hash"], batch_size=500)
            AuditChain.objects.filter(key=key).update(last_seq=seq, last_hash=previous)
    return len(waiting)


def sequence(*, keys: list[str] | None = None, batch: int = BATCH) -> int:
    """Chain every waiting event (of these chains, or all); how many it chained."""
    total = 0
    for key in keys if keys is not None else pending_chains():
        while True:
            chained = sequence_chain(key, batch=batch)
            total += chained
            if chained < batch:
                break
    return total
