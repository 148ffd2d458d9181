"""Connections domain: an organization's provider apps, connected accounts, OAuth attempts,
and the audit trail."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from connections.providers import Provider, get_provider
from connections.vault import SealedFieldsMixin
from portal.tenancy import OrgOwned, OrgQuerySet


class Connection(SealedFieldsMixin, OrgOwned):
    """An organization's configuration of one provider (its OAuth app)."""

    class AuthType(models.TextChoices):
        OAUTH2 = "oauth2", "OAuth 2"
        API_KEY = "api_key", "API key"

    sealed_fields = ("client_secret_sealed",)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.SlugField(max_length=64)
    provider = models.CharField(max_length=40)
    auth_type = models.CharField(max_length=10, choices=AuthType.choices, default=AuthType.OAUTH2)
    client_id = models.CharField(max_length=255, blank=True)
    client_secret_sealed = models.TextField(blank=True, default="")
    scopes = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    authorization_url = models.URLField(max_length=500, blank=True)
    token_url = models.URLField(max_length=500, blank=True)
    revoke_url = models.URLField(max_length=500, blank=True)
    api_base_url = models.URLField(max_length=500, blank=True)
    disabled_tools = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="connection_name_unique")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def provider_spec(self) -> Provider:
        provider = get_provider(self.provider)
        if provider is None:
            raise LookupError(f"Provider {self.provider!r} is not in the catalog.")
        return provider

    def endpoint(self, name: str) -> str:
        """An endpoint URL: the connection's override, else the catalog's default."""
        return getattr(self, name) or getattr(self.provider_spec, name)


class AccountStatus(models.TextChoices):
    PENDING_AUTH = "PENDING_AUTH", "Waiting for authorization"
    PENDING_VERIFICATION = "PENDING_VERIFICATION", "Waiting for verification"
    ACTIVE = "ACTIVE", "Active"
    EXPIRED = "EXPIRED", "Expired"
    REVOKED = "REVOKED", "Revoked"
    DISCONNECTED = "DISCONNECTED", "Disconnected"


class ConnectedAccount(SealedFieldsMixin, OrgOwned):
    """One person's authorized account at a provider, under a stable identifier."""

    sealed_fields = ("token_set_sealed",)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="accounts")
    identifier = models.CharField(max_length=255)
    user = models.ForeignKey(
        "portal.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=24, choices=AccountStatus.choices, default=AccountStatus.PENDING_AUTH
    )
    status_reason = models.CharField(max_length=255, blank=True)
    scopes = models.JSONField(default=list, blank=True)
    token_set_sealed = models.TextField(blank=True, default="")
    token_expires_at = models.DateTimeField(null=True, blank=True)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    refresh_failure_count = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "connection", "identifier"],
                name="connected_account_unique",
            )
        ]
        indexes = [
            models.Index(fields=["organization", "identifier"], name="account_org_ident"),
            models.Index(fields=["status", "token_expires_at"], name="account_status_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.identifier} @ {self.connection_id}"


class AuthorizationRequest(SealedFieldsMixin, OrgOwned):
    """One OAuth attempt: single-use `state`, sealed PKCE verifier, 10-minute life."""

    class Flow(models.TextChoices):
        PORTAL = "portal", "Portal connect page"
        API = "api", "API with customer verification"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        AWAITING_VERIFICATION = "awaiting_verification", "Awaiting verification"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    sealed_fields = ("code_verifier_sealed", "pending_token_set_sealed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(
        ConnectedAccount, on_delete=models.CASCADE, related_name="authorization_requests"
    )
    identifier = models.CharField(max_length=255)
    state = models.CharField(max_length=64, unique=True)
    code_verifier_sealed = models.TextField(blank=True, default="")
    pending_token_set_sealed = models.TextField(blank=True, default="")
    pending_scopes = models.JSONField(default=list, blank=True)
    flow = models.CharField(max_length=10, choices=Flow.choices, default=Flow.PORTAL)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.PENDING)
    provider = models.CharField(max_length=40)
    authorization_url = models.URLField(max_length=500)
    redirect_uri = models.URLField(max_length=500)
    user_verify_url = models.URLField(max_length=1000, blank=True)
    client_state = models.CharField(max_length=500, blank=True)
    initiated_by = models.ForeignKey(
        "portal.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.identifier} via {self.provider} ({self.status})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()


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
            # The dashboard's tool activity: one action over a time window.
            models.Index(
                fields=["organization", "action", "created_at"], name="audit_org_action_time"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} ({self.outcome})"
