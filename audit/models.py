"""The audit trail: hash-chained, append-only events, and the write-ahead intents.

The tables kept the names they had when the audit trail lived in `connections`
(`db_table`), so moving the code moved no data.
"""

from __future__ import annotations

from django.db import models

from core.tenancy import OrgQuerySet


class AuditChain(models.Model):
    """The head of one hash chain: one row per organization, plus `global` for account events.

    Only the sequencer (audit/sequencer.py) writes it, batch by batch, under its lock:
    appends never touch it, so no request serializes on it. A prune moves the checkpoint
    forward so the rest still verifies.
    """

    key = models.CharField(max_length=40, primary_key=True)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="")
    checkpoint_seq = models.BigIntegerField(default=0)
    checkpoint_hash = models.CharField(max_length=64, default="")

    class Meta:
        db_table = "connections_auditchain"

    def __str__(self) -> str:
        return f"{self.key} @ {self.last_seq}"


class AuditEvent(models.Model):
    """Append-only record of something that happened. Never holds a secret.

    Written with its `content_hash` (the writer's commitment to what it recorded) and no
    place in its chain; the sequencer gives it `seq`, `prev_hash` and `hash` moments later.
    """

    class ActorType(models.TextChoices):
        USER = "user", "User"
        API_KEY = "api_key", "API key"
        SYSTEM = "system", "System"
        ANONYMOUS = "anonymous", "Anonymous"

    # How review.label_outcomes shows an event (not stored).
    outcome_class: str = ""
    outcome_label: str = ""
    person: str = ""  # set by review.label_people: the email behind a portal identifier

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        FAILURE = "failure", "Failure"
        DENIED = "denied", "Denied"
        # Write-ahead: the action started (its completion is a later event).
        PENDING = "pending", "Pending"
        # The action started but its result was never recorded (the process stopped).
        UNKNOWN = "unknown", "Outcome unknown"

    # Null for account-level events (sign-up, failed sign-in) that belong to no tenant.
    organization = models.ForeignKey(
        "portal.Organization", null=True, blank=True, on_delete=models.CASCADE
    )
    chain = models.CharField(max_length=40)
    seq = models.BigIntegerField(null=True, blank=True)  # null until the sequencer chains it
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
    # The OpenTelemetry trace it happened in (core/tracing.py), when tracing is on.
    trace_id = models.CharField(max_length=32, blank=True, default="")
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True, default="")
    # SHA-256 of the content, written with the event (empty on events of earlier versions).
    content_hash = models.CharField(max_length=64, blank=True, default="")

    objects = OrgQuerySet.as_manager()

    class Meta:
        db_table = "connections_auditevent"
        constraints = [models.UniqueConstraint(fields=["chain", "seq"], name="audit_chain_seq")]
        indexes = [
            models.Index(fields=["organization", "-id"], name="audit_org_newest"),
            models.Index(fields=["organization", "action", "-id"], name="audit_org_action"),
            models.Index(fields=["organization", "identifier", "-id"], name="audit_org_ident"),
            # The dashboard's tool activity: one action over a time window.
            models.Index(
                fields=["organization", "action", "created_at"], name="audit_org_action_time"
            ),
            # What the sequencer has still to chain, oldest first.
            models.Index(
                fields=["organization", "chain", "id"],
                name="audit_org_unchained",
                condition=models.Q(seq__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} ({self.outcome})"


class OpenIntent(models.Model):
    """An action whose start is on record (a `pending` event) and whose end is not yet.

    Written in the same commit as the pending event, deleted in the same commit as
    the completing event; one left behind means the process stopped in between, and
    `intents.close_stale_intents` records the action's outcome as unknown.
    """

    event = models.OneToOneField(
        AuditEvent, on_delete=models.CASCADE, primary_key=True, related_name="open_intent"
    )
    action = models.CharField(max_length=64)  # the completing event's action
    created_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.action} started by event #{self.event_id}"
