"""Background work of webhooks (Celery): each endpoint's sender, the dispatcher that
starts senders for due retries, and retention."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from core import bulkheads
from core.holds import lapsed
from core.jobs import exclusive
from webhooks import delivery
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

KICK_DEBOUNCE_SECONDS = 1


def start_senders(endpoint_ids: list[str]) -> None:
    """Start each endpoint's sender. Through a broker, at most one start per endpoint and
    second: a burst of events is one message, not thousands; the running sender picks up
    new deliveries (it looks again before it stops), and the dispatcher catches any that
    slip between."""
    debounce = 0 if deliver_endpoint.app.conf.task_always_eager else KICK_DEBOUNCE_SECONDS
    for endpoint_id in endpoint_ids:
        if debounce and not cache.add(f"webhooks:start:{endpoint_id}", 1, timeout=debounce):
            continue
        deliver_endpoint.delay(endpoint_id)


@shared_task(acks_late=True)
def deliver_endpoint(endpoint_id: str) -> dict:
    """Send an endpoint's due deliveries. Retries come due later: the dispatcher (every
    10 s) starts a sender for them."""
    result = bulkheads.within(
        "webhooks",
        lambda: delivery.run_endpoint(endpoint_id),
        defer=lambda seconds: deliver_endpoint.apply_async(args=[endpoint_id], countdown=seconds),
    )
    if result is None:
        return {"sent": 0, "more": 0, "deferred": 1}
    if result["more"]:
        deliver_endpoint.delay(endpoint_id)  # its budget ran out: the rest, in a new turn
    return result


def dispatch() -> dict[str, int]:
    """Start a sender for every enabled endpoint with due deliveries and no sender."""
    now = timezone.now()
    ready = (
        WebhookEndpoint.objects.filter(enabled=True)
        .filter(lapsed("sending_until"))
        .filter(
            deliveries__status=WebhookDelivery.Status.PENDING,
            deliveries__next_attempt_at__lte=now,
        )
        .values_list("pk", flat=True)
        .distinct()
    )
    ids = [str(pk) for pk in ready[:1000]]
    start_senders(ids)
    return {"endpoints": len(ids)}


@shared_task
def dispatch_webhooks() -> dict:
    return exclusive("dispatch_webhooks", dispatch)


def prune() -> dict[str, int]:
    """Events (and their deliveries and attempts) older than the organization's audit
    retention."""
    deleted = 0
    for org_id, days in WebhookEvent.objects.values_list(
        "organization_id", "organization__audit_retention_days"
    ).distinct():
        cutoff = timezone.now() - timedelta(days=days)
        _, per_model = WebhookEvent.objects.filter(
            organization_id=org_id, created_at__lt=cutoff
        ).delete()
        deleted += per_model.get("webhooks.WebhookEvent", 0)
    return {"deleted": deleted}


@shared_task
def prune_webhooks() -> dict:
    return exclusive("prune_webhooks", prune)
