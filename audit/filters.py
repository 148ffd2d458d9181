"""The audit list's filters, for its page, its exports and the API."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from audit.models import AuditEvent
from core.filtering import ListFilter, MomentFilter, choice_filter


class AuditEventFilter(ListFilter):
    error_code = "invalid_filter"
    descriptions = {
        "action": "a full action (tool.executed) exactly; anything shorter as a prefix "
        "(tool., agent)",
        "actor": "actor email/label (contains) or id",
        "since": "ISO date or date-time",
        "until": "ISO date or date-time",
        "q": "free text over the target",
    }

    # A full action (with a name after its dot) matches exactly; "tool." or "agent" match
    # every action they start.
    action = django_filters.CharFilter(method="by_action")
    actor = django_filters.CharFilter(method="by_actor")  # label (contains) or id
    identifier = django_filters.CharFilter(field_name="identifier")
    connection_name = django_filters.CharFilter(method="by_connection")
    outcome = choice_filter(AuditEvent.Outcome.choices, what="outcome")
    since = MomentFilter(field_name="created_at", lookup_expr="gte", label="since")
    until = MomentFilter(field_name="created_at", lookup_expr="lte", label="until")
    q = django_filters.CharFilter(method="by_target")  # free text over the target

    def by_action(self, events: QuerySet, name: str, value: str) -> QuerySet:
        if "." not in value.rstrip("."):
            return events.filter(action__startswith=value)
        return events.filter(action=value)

    def by_actor(self, events: QuerySet, name: str, value: str) -> QuerySet:
        return events.filter(Q(actor_label__icontains=value) | Q(actor_id=value))

    def by_connection(self, events: QuerySet, name: str, value: str) -> QuerySet:
        return events.filter(
            Q(metadata__connection=value) | Q(target_type="connection", target_id=value)
        )

    def by_target(self, events: QuerySet, name: str, value: str) -> QuerySet:
        return events.filter(Q(target_id__icontains=value) | Q(target_type=value))
