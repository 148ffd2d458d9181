"""DESIGN §13 rule 26 as a check any test can run: a refused request changes nothing.

`Snapshot` counts the rows of every table before a request; `refused_changes` lists what
a refused (4xx) request changed anyway. The only rows a refusal may add are audit events
that record it as refused (outcome failure or denied) — never a success, never a webhook
event, never a row of anything else.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps

from audit.models import AuditEvent

# Tables a refused request may touch: its own audit record (checked below by outcome), the
# chain head that record advanced, and the session of a signed-in browser.
AUDIT_TABLES = {"audit.AuditEvent", "audit.AuditChain", "sessions.Session"}


def row_counts() -> dict[str, int]:
    return {
        model._meta.label: model._base_manager.count()
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy
    }


@dataclass
class Snapshot:
    counts: dict[str, int]
    last_event: int

    @classmethod
    def take(cls) -> Snapshot:
        last = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        return cls(row_counts(), last)

    def refused_changes(self) -> list[str]:
        after = row_counts()
        changed = [
            f"{label}: {self.counts.get(label, 0)} → {count} rows"
            for label, count in after.items()
            if count != self.counts.get(label, 0) and label not in AUDIT_TABLES
        ]
        successes = AuditEvent.objects.filter(pk__gt=self.last_event, outcome="success")
        changed += [f"audit event {e.action} recorded as a success" for e in successes]
        return changed
