"""Managing an organization's webhook endpoints (owners, admins and API keys): create,
update, delete, rotate the signing secret, send a test event, replay deliveries."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from audit import trail
from core.dependencies import enqueue_after_commit
from core.egress import check_url
from core.errors import Invalid, NotFound
from core.signing_secrets import new_signing_secret
from core.tenancy import as_uuid
from portal.callers import Caller
from webhooks import delivery, events, outbox
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.selectors import deliveries_of, endpoints_of, get_endpoint

ROTATION_OVERLAP = timedelta(hours=24)
MAX_ENDPOINTS = 20


def clean_event_types(event_types: Any) -> list[str]:
    if event_types in (None, ""):
        return []
    if not isinstance(event_types, list) or not all(isinstance(t, str) for t in event_types):
        raise Invalid("event_types must be a list of event type names.", code="invalid_event_types")
    unknown = sorted(set(event_types) - set(events.EVENT_TYPES) - {"webhook.test"})
    if unknown:
        raise Invalid(
            f"Unknown event types: {', '.join(unknown)[:200]}.",
            code="invalid_event_types",
            details={"known": sorted(events.EVENT_TYPES)},
        )
    return sorted(set(event_types))


def clean_url(url: Any) -> str:
    if not isinstance(url, str) or not url or len(url) > 2000:
        raise Invalid("url must be an https URL.", code="invalid_url", details={"field": "url"})
    return check_url(url, field="url")


def _audit(action: str, endpoint: WebhookEndpoint, caller: Caller, request, **metadata) -> None:
    trail.record(
        action=action,
        organization=caller.organization,
        caller=caller,
        request=request,
        target_type="webhook_endpoint",
        target_id=endpoint.pk,
        metadata={"url": endpoint.url, **metadata},
    )


def create_endpoint(
    *,
    caller: Caller,
    url: Any,
    description: str = "",
    event_types: Any = None,
    enabled: bool = True,
    request: HttpRequest | None = None,
) -> tuple[WebhookEndpoint, str]:
    """The new endpoint and its signing secret (shown once)."""
    existing = endpoints_of(caller=caller)
    if existing.count() >= MAX_ENDPOINTS:
        raise Invalid(f"At most {MAX_ENDPOINTS} endpoints per organization.", code="too_many")
    secret = new_signing_secret()
    with transaction.atomic():
        endpoint = WebhookEndpoint(
            organization=caller.organization,
            url=clean_url(url),
            description=(description or "")[:255],
            event_types=clean_event_types(event_types),
            enabled=bool(enabled),
            created_by=caller.user,
        )
        endpoint.set_secret("secret_sealed", secret)
        endpoint.save()
        _audit(
            "webhook_endpoint.created", endpoint, caller, request, event_types=endpoint.event_types
        )
    return endpoint, secret


def update_endpoint(
    *, caller: Caller, endpoint_id: Any, request: HttpRequest | None = None, **changes: Any
) -> WebhookEndpoint:
    endpoint = get_endpoint(caller=caller, endpoint_id=endpoint_id)
    if "url" in changes:
        endpoint.url = clean_url(changes["url"])
    if "description" in changes:
        endpoint.description = (changes["description"] or "")[:255]
    if "event_types" in changes:
        endpoint.event_types = clean_event_types(changes["event_types"])
    if "enabled" in changes:
        endpoint.enabled = bool(changes["enabled"])
        if endpoint.enabled:
            endpoint.disabled_reason = ""
            endpoint.failing_since = None
    with transaction.atomic():
        endpoint.save()
        _audit(
            "webhook_endpoint.updated",
            endpoint,
            caller,
            request,
            changed=sorted(changes),
            enabled=endpoint.enabled,
        )
    return endpoint


def delete_endpoint(
    *, caller: Caller, endpoint_id: Any, request: HttpRequest | None = None
) -> None:
    endpoint = get_endpoint(caller=caller, endpoint_id=endpoint_id)
    with transaction.atomic():
        _audit("webhook_endpoint.deleted", endpoint, caller, request)
        endpoint.delete()


def rotate_secret(
    *, caller: Caller, endpoint_id: Any, request: HttpRequest | None = None
) -> tuple[WebhookEndpoint, str]:
    """A new secret; the old one keeps signing (a second signature) for 24 hours, so
    receivers can switch without missing a delivery."""
    endpoint = get_endpoint(caller=caller, endpoint_id=endpoint_id)
    secret = new_signing_secret()
    with transaction.atomic():
        endpoint.set_secret("previous_secret_sealed", endpoint.get_secret("secret_sealed"))
        endpoint.previous_secret_expires_at = timezone.now() + ROTATION_OVERLAP
        endpoint.set_secret("secret_sealed", secret)
        endpoint.save()
        _audit("webhook_endpoint.secret_rotated", endpoint, caller, request)
    return endpoint, secret


def send_test_event(*, caller: Caller, endpoint_id: Any, request: HttpRequest | None = None):
    endpoint = get_endpoint(caller=caller, endpoint_id=endpoint_id)
    with transaction.atomic():
        return outbox.publish(
            organization=caller.organization,
            event_type="webhook.test",
            data={"message": "A test event from Agent Portal."},
            endpoint_ids=[endpoint.pk],
        )


def replay_delivery(*, caller: Caller, delivery_id: Any, request: HttpRequest | None = None) -> int:
    key = as_uuid(delivery_id)
    chosen = deliveries_of(caller=caller).filter(pk=key) if key is not None else None
    if chosen is None or not chosen.exists():
        raise NotFound("No such delivery.")
    return _replay(caller, chosen, request, delivery=str(delivery_id))


def replay_failed(
    *, caller: Caller, endpoint_id: Any, since: datetime, request: HttpRequest | None = None
) -> int:
    endpoint = get_endpoint(caller=caller, endpoint_id=endpoint_id)
    failed = deliveries_of(caller=caller).filter(
        endpoint=endpoint, status=WebhookDelivery.Status.FAILED, created_at__gte=since
    )
    return _replay(caller, failed, request, endpoint=str(endpoint.pk), since=since.isoformat())


def _replay(caller: Caller, deliveries, request, **metadata) -> int:
    from webhooks.tasks import start_senders

    endpoint_ids = sorted({str(pk) for pk in deliveries.values_list("endpoint_id", flat=True)})
    with transaction.atomic():
        count = delivery.replay(deliveries)
        trail.record(
            action="webhook_delivery.replayed",
            organization=caller.organization,
            caller=caller,
            request=request,
            target_type="webhook_delivery",
            metadata={"count": count, **metadata},
        )
        enqueue_after_commit(lambda: start_senders(endpoint_ids))
    return count
