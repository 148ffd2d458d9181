"""Connections domain models: the audit trail (this file grows with connected accounts)."""

from __future__ import annotations

from django.db import models

from portal.tenancy import OrgQuerySet


class AuditChain(models.Model):
    """The head of one hash chain: one row per organization, plus `global` for account events.

    Writers lock this row, so concurrent appends are serialized and the chain
    never forks. A prune moves the checkpoint forward so the rest still verifies.
    """

    key = models.CharField(max_length=40, primary_key=True)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="")
    checkpoint_seq = models.BigIntegerField(default=0)
    checkpoint_hash = models.CharField(max_length=64, default="")

    def __str__(self) -> str:
        return f"{self.key} @ {self.last_seq}"


class AuditEvent(models.Model):
    """Append-only record of something that happened. Never holds a secret."""

    class ActorType(models.TextChoices):
        USER = "user", "User"
        API_KEY = "api_key", "API key"
        SYSTEM = "system", "System"
        ANONYMOUS = "anonymous", "Anonymous"

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        FAILURE = "failure", "Failure"
        DENIED = "denied", "Denied"

    # Null for account-level events (sign-up, failed sign-in) that belong to no tenant.
    organization = models.ForeignKey(
        "portal.Organization", null=True, blank=True, on_delete=models.CASCADE
    )
    chain = models.CharField(max_length=40)
    seq = models.BigIntegerField()
    created_at = models.DateTimeField()
    actor_type = models.CharField(max_length=10, choices=ActorType.choices)
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=255, blank=True)
    identifier = models.CharField(max_length=255, blank=True)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=255, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.SUCCESS)
    metadata = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64)

    objects = OrgQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["chain", "seq"], name="audit_chain_seq")]
        indexes = [
            models.Index(fields=["organization", "-id"], name="audit_org_newest"),
            models.Index(fields=["organization", "action", "-id"], name="audit_org_action"),
            models.Index(fields=["organization", "identifier", "-id"], name="audit_org_ident"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} ({self.outcome})"
