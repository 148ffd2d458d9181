"""Reads: which audit events a caller sees."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from audit.chain import chain_key
from audit.models import AuditEvent
from core.tenancy import CallerLike


def visible_events(*, caller: CallerLike) -> QuerySet[AuditEvent]:
    """Owners, admins, auditors and API keys: the organization's events. Members: events
    they caused or that concern their identifier (what agents did as them)."""
    events = org_events(organization=caller.organization)
    if caller.can_read_audit:
        return events
    if caller.user is None:
        return events.none()
    return events.filter(
        Q(actor_type=AuditEvent.ActorType.USER, actor_id=str(caller.user.pk))
        | Q(identifier=caller.user.identifier)
    )


def org_events(*, organization: Any) -> QuerySet[AuditEvent]:
    """The organization's events: its own hash chain."""
    return AuditEvent.objects.for_org(organization).filter(chain=chain_key(organization))


def event_for(*, caller: CallerLike, event_id: int) -> AuditEvent | None:
    return visible_events(caller=caller).filter(pk=event_id).first()
