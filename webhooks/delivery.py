"""Sending webhook deliveries, per the Standard Webhooks specification.

Each request carries `webhook-id` (the event's id, the same on every retry),
`webhook-timestamp` and `webhook-signature` (`v1,<base64 HMAC-SHA256 of
id.timestamp.body>`; during a secret rotation, one signature per live secret). Delivery
is at least once: a 2xx is delivered; 410 Gone disables the endpoint; anything else
(another status, a timeout, a refused connection) is retried after WEBHOOK_RETRY_SCHEDULE
(5 s, 5 min, 30 min, 2 h, 5 h, 10 h, each ±10 %), then the delivery fails. An endpoint
failing for WEBHOOK_DISABLE_AFTER_DAYS is disabled and the organization's admins are
emailed. Order is not promised.

One sender per endpoint at a time (a lease on the endpoint row, renewed every second while
it sends and lapsing 5 s after its sender died: core/holds.py), sending up to
WEBHOOK_ENDPOINT_CONCURRENCY requests at once: a slow endpoint occupies one worker
thread, and the others keep delivering to everyone else.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from audit import trail
from core import metrics, outbound
from core.holds import BEAT_SECONDS, Keeper, lapsed, lapses_at
from portal.models import MANAGER_ROLES, Membership
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

BATCH = 50
SEND_BUDGET_SECONDS = 25.0  # then the sender hands over (re-queued) so others get turns
EXCERPT = 1024


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    latency_ms: float
    excerpt: str
    error: str = ""

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def signing_secrets(endpoint: WebhookEndpoint) -> list[str]:
    secrets = [endpoint.get_secret("secret_sealed")]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_sealed and expires and expires > timezone.now():
        secrets.append(endpoint.get_secret("previous_secret_sealed"))
    return [secret for secret in secrets if secret]


def body_of(delivery: WebhookDelivery) -> str:
    return json.dumps(delivery.event.payload, separators=(",", ":"), ensure_ascii=False)


def signed_headers(msg_id: str, body: str, secrets: list[str], at: datetime) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "AgentPortal-Webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(Webhook(s).sign(msg_id, at, body) for s in secrets),
    }


def post(url: str, body: str, headers: dict[str, str]) -> Answer:
    """One request, through the guarded transport (egress policy, capped answer)."""
    started = time.perf_counter()
    try:
        response = outbound.send(
            "POST",
            url,
            what="webhook endpoint",
            headers=headers,
            content=body.encode(),
            deadline=settings.WEBHOOK_TIMEOUT_SECONDS,
            max_bytes=64 * 1024,
        )
    except outbound.OutboundError as exc:
        return Answer(None, (time.perf_counter() - started) * 1000, "", exc.message[:255])
    return Answer(
        response.status_code, (time.perf_counter() - started) * 1000, response.text[:EXCERPT]
    )


def renew_leases(sender_ids: list[str]) -> None:
    """Renew the leases these senders still hold (a released one stays released)."""
    WebhookEndpoint.objects.filter(sending_by__in=sender_ids).update(sending_until=lapses_at())


# Renews the lease of every endpoint this process is sending to (core/holds.py).
senders = Keeper("webhook-senders", renew_leases, beat=lambda: BEAT_SECONDS)


def run_endpoint(endpoint_id) -> dict[str, int]:
    """Send the endpoint's due deliveries, holding its lease; {"sent", "more"}."""
    sender_id = uuid.uuid4().hex
    claimed = (
        WebhookEndpoint.objects.filter(pk=endpoint_id, enabled=True)
        .filter(lapsed("sending_until"))
        .update(sending_until=lapses_at(), sending_by=sender_id)
    )
    if not claimed:
        return {"sent": 0, "more": 0}
    sent = 0
    endpoint = WebhookEndpoint.objects.select_related("organization").get(pk=endpoint_id)
    give_back_at = time.monotonic() + SEND_BUDGET_SECONDS
    try:
        with (
            senders.held_while(sender_id),
            ThreadPoolExecutor(max_workers=settings.WEBHOOK_ENDPOINT_CONCURRENCY) as pool,
        ):
            while endpoint.enabled and time.monotonic() < give_back_at:
                batch = list(
                    due(endpoint).select_related("event").order_by("next_attempt_at")[:BATCH]
                )
                if not batch:
                    break
                secrets = signing_secrets(endpoint)
                at = datetime.now(UTC)
                # Headers are signed here; only the HTTP requests go to the pool's threads.
                requests = []
                for item in batch:
                    body = body_of(item)
                    requests.append(
                        (body, signed_headers(item.event.webhook_id, body, secrets, at))
                    )
                answers = pool.map(lambda r: post(endpoint.url, *r), requests)
                record(endpoint, list(zip(batch, answers, strict=True)))
                sent += len(batch)
    finally:
        WebhookEndpoint.objects.filter(pk=endpoint.pk, sending_by=sender_id).update(
            sending_until=None, sending_by=""
        )
    more = endpoint.enabled and due(endpoint).exists()
    return {"sent": sent, "more": int(more)}


def due(endpoint: WebhookEndpoint):
    return WebhookDelivery.objects.for_org(endpoint.organization_id).filter(
        endpoint=endpoint,
        status=WebhookDelivery.Status.PENDING,
        next_attempt_at__lte=timezone.now(),
    )


def record(endpoint: WebhookEndpoint, results: list[tuple[WebhookDelivery, Answer]]) -> None:
    """Write a batch's attempts and the deliveries' new states, in one transaction."""
    now = timezone.now()
    schedule = settings.WEBHOOK_RETRY_SCHEDULE
    with transaction.atomic():
        WebhookAttempt.objects.bulk_create(
            [
                WebhookAttempt(
                    organization_id=delivery.organization_id,
                    delivery=delivery,
                    status_code=answer.status_code,
                    latency_ms=round(answer.latency_ms, 1),
                    response_excerpt=answer.excerpt,
                    error=answer.error,
                )
                for delivery, answer in results
            ]
        )
        # One UPDATE per kind of outcome (not per delivery): a batch is usually one or two.
        jitter = random.uniform(0.9, 1.1)  # noqa: S311 (spreading retries, not a secret)
        groups: dict[tuple, list] = {}
        for delivery, answer in results:
            metrics.webhook_delivery(
                outcome="delivered"
                if answer.delivered
                else f"http_{answer.status_code}"
                if answer.status_code
                else "no_answer",
                lag_seconds=(now - delivery.created_at).total_seconds(),
            )
            attempts = delivery.attempts + 1
            values: dict[str, Any] = {
                "attempts": attempts,
                "last_status_code": answer.status_code,
                "last_error": answer.error,
            }
            if answer.delivered:
                values |= {"status": WebhookDelivery.Status.DELIVERED, "delivered_at": now}
            elif answer.status_code == 410 or attempts > len(schedule):
                values["status"] = WebhookDelivery.Status.FAILED
            else:
                wait = schedule[attempts - 1] * jitter
                values["next_attempt_at"] = now + timedelta(seconds=wait)
            groups.setdefault(tuple(sorted(values.items())), []).append(delivery.pk)
        for changes, keys in groups.items():
            WebhookDelivery.objects.filter(pk__in=keys).update(**dict(changes))
        answers = [answer for _, answer in results]
        if any(answer.status_code == 410 for answer in answers):
            disable(endpoint, "The endpoint answered 410 Gone.")
        elif any(answer.delivered for answer in answers):
            if endpoint.failing_since is not None:
                endpoint.failing_since = None
                WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
        else:
            _failing(endpoint, now)


def _failing(endpoint: WebhookEndpoint, now: datetime) -> None:
    if endpoint.failing_since is None:
        endpoint.failing_since = now
        WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
            failing_since=now
        )
    elif now - endpoint.failing_since > timedelta(days=settings.WEBHOOK_DISABLE_AFTER_DAYS):
        disable(
            endpoint,
            f"No delivery succeeded for {settings.WEBHOOK_DISABLE_AFTER_DAYS} days.",
            notify=True,
        )


def disable(endpoint: WebhookEndpoint, reason: str, *, notify: bool = False) -> None:
    endpoint.enabled = False
    endpoint.disabled_reason = reason
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        enabled=False, disabled_reason=reason[:255], updated_at=timezone.now()
    )
    trail.record(
        action="webhook_endpoint.disabled",
        organization=endpoint.organization,
        actor=trail.Actor.system("webhooks"),
        target_type="webhook_endpoint",
        target_id=endpoint.pk,
        metadata={"url": endpoint.url, "reason": reason},
    )
    if notify:
        transaction.on_commit(lambda: _email_admins(endpoint, reason))


def _email_admins(endpoint: WebhookEndpoint, reason: str) -> None:
    admins = (
        Membership.objects.for_org(endpoint.organization)
        .filter(role__in=MANAGER_ROLES)
        .values_list("user__email", flat=True)
    )
    try:
        send_mail(
            subject=f"[Agent Portal] Webhook endpoint disabled: {endpoint.url[:80]}",
            message=(
                f"The webhook endpoint {endpoint.url} of {endpoint.organization.name} was "
                f"disabled: {reason}\n\nFix it, enable it again on the Webhooks page, and "
                "replay the failed deliveries."
            ),
            from_email=None,
            recipient_list=list(admins),
        )
    except Exception:  # mail trouble must not undo the disabling
        logger.exception("could not email the admins about a disabled webhook endpoint")


def replay(deliveries) -> int:
    """Send these deliveries again, now, with a fresh retry schedule (their earlier
    attempts stay in the log)."""
    return deliveries.update(
        status=WebhookDelivery.Status.PENDING, next_attempt_at=timezone.now(), attempts=0
    )
