"""The outbox: webhook events written in the transaction of the change they report.

An audit event is appended inside every audited change; the outbox follows the trail
(audit/signals.py), so it sees each event inside that transaction. If an enabled
endpoint of the organization wants the webhook type, the event and one delivery per
such endpoint are inserted then and there — a rolled-back change leaves no event, a
committed one always has its deliveries — and the endpoints' senders are started once
the transaction commits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.models import AuditEvent
from core.dependencies import enqueue_after_commit
from core.models import TaskFailure
from webhooks import events
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

logger = logging.getLogger(__name__)

# tool.executed comes with every tool call: who subscribes to it is cached per process
# for a few seconds instead of asked each time (other types are rare: always asked).
SUBSCRIBERS_TTL = 5.0
_subscribers: dict[int, tuple[float, list[tuple[Any, list[str]]]]] = {}


def wants(event_types: list[str], event_type: str) -> bool:
    if events.EVENT_TYPES[event_type].opt_in:
        return event_type in event_types
    return not event_types or event_type in event_types


def subscribers(organization_id: int, *, cached: bool) -> list[tuple[Any, list[str]]]:
    now = time.monotonic()
    hit = _subscribers.get(organization_id) if cached else None
    if hit is not None and hit[0] > now:
        return hit[1]
    rows = list(
        WebhookEndpoint.objects.filter(organization_id=organization_id, enabled=True).values_list(
            "id", "event_types"
        )
    )
    _subscribers[organization_id] = (now + SUBSCRIBERS_TTL, rows)
    return rows


def forget_subscribers(organization_id: int) -> None:
    _subscribers.pop(organization_id, None)


def follow(event: AuditEvent) -> Callable[[], WebhookEvent | None] | None:
    """Asked before the audit event is appended: the work of putting it in the outbox,
    if an endpoint may want it (audit/signals.py), else None."""
    if event.organization_id is None:
        return None
    types = events.possible_types(event.action)
    if not types:
        return None
    endpoints = subscribers(event.organization_id, cached="tool.executed" in types)
    if not any(wants(wanted, t) for _, wanted in endpoints for t in types):
        return None
    return partial(capture, event, endpoints)


def capture(event: AuditEvent, endpoints: list[tuple[Any, list[str]]]) -> WebhookEvent | None:
    """The webhook event for this (appended) audit event, for the endpoints that want it."""
    built = events.BUILDERS[event.action](event)
    if built is None:
        # Never silently: an event of a type someone wants that cannot be built is a bug
        # (an audit event naming its object another way, a builder reading a gone row).
        logger.error(
            "webhook event for %s (audit event %s) could not be built", event.action, event.pk
        )
        TaskFailure.objects.create(
            task=f"webhooks.outbox: {event.action}",
            error=f"The webhook event for audit event {event.pk} could not be built.",
        )
        return None
    event_type, data = built
    targets = [pk for pk, wanted in endpoints if wants(wanted, event_type)]
    if not targets:
        return None
    return publish(
        organization=event.organization, event_type=event_type, data=data, endpoint_ids=targets
    )


def publish(
    *, organization, event_type: str, data: dict[str, Any], endpoint_ids: list
) -> WebhookEvent:
    """Insert the event and its deliveries (in the caller's transaction); start the
    endpoints' senders after commit."""
    from webhooks.tasks import start_senders  # the task module imports the delivery code

    now = timezone.now()
    with transaction.atomic(savepoint=False):
        webhook = WebhookEvent(organization=organization, type=event_type, payload={})
        webhook.payload = {
            "id": webhook.webhook_id,
            "type": event_type,
            "version": events.VERSION,
            "timestamp": now.isoformat(),
            "organization": {"id": organization.pk, "slug": organization.slug},
            "data": data,
        }
        webhook.save()
        WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(
                    organization=organization,
                    event=webhook,
                    endpoint_id=endpoint_id,
                    next_attempt_at=now,
                )
                for endpoint_id in endpoint_ids
            ]
        )
        enqueue_after_commit(partial(start_senders, [str(pk) for pk in endpoint_ids]))
    return webhook
