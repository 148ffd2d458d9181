"""Outbound webhooks: each organization's endpoints, the outbox of events, and every
delivery attempt (DESIGN §11)."""

from __future__ import annotations

import uuid

from django.db import models

from connections.vault import SealedFieldsMixin
from core.fields import StorableCharField, StorableJSONField
from core.tenancy import OrgOwned


class WebhookEndpoint(SealedFieldsMixin, OrgOwned):
    sealed_fields = ("secret_sealed", "previous_secret_sealed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    url = models.URLField(max_length=2000)
    description = StorableCharField(max_length=255, blank=True)
    # Event types it receives; empty: every type except the opt-in ones (tool.executed).
    event_types = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    disabled_reason = StorableCharField(max_length=255, blank=True)
    secret_sealed = models.TextField(blank=True, default="")
    # After a rotation the previous secret also signs, until it expires.
    previous_secret_sealed = models.TextField(blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Failing since (no 2xx); three days of it disables the endpoint.
    failing_since = models.DateTimeField(null=True, blank=True)
    # One sender at a time per endpoint (webhooks/delivery.py): a slow endpoint holds
    # one worker thread, never all of them. The lease names its sender, so a renewal
    # still in flight when the sender lets go cannot revive it (core/holds.py).
    sending_until = models.DateTimeField(null=True, blank=True)
    sending_by = models.CharField(max_length=64, blank=True, default="")
    created_by = models.ForeignKey(
        "portal.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.url


class WebhookEvent(OrgOwned):
    """One event of the outbox, written in the transaction of the change it reports."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=64)
    payload = StorableJSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.pk}"

    @property
    def webhook_id(self) -> str:
        return f"msg_{self.pk.hex}"


class WebhookDelivery(OrgOwned):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = StorableCharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # An endpoint's deliveries due (webhooks/delivery.due): pending ones only.
            models.Index(
                fields=["organization", "endpoint", "next_attempt_at"],
                name="delivery_pending",
                condition=models.Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id} ({self.status})"


class WebhookAttempt(OrgOwned):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="tries")
    at = models.DateTimeField(auto_now_add=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.FloatField(default=0)
    # What the endpoint answered (≤ 1 KB), or why nothing was answered.
    response_excerpt = StorableCharField(max_length=1024, blank=True)
    error = StorableCharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.status_code or self.error}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
