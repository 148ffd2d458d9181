"""MCP access: each organization's policy, the apps people let in, approvals of writes.

The OAuth side (clients, codes, tokens) lives in django-oauth-toolkit's models. An
`McpConnection` is a grant: one person's consent to one client in one organization; an
`McpTokenFamily` binds each token family issued under a grant to it, when it is issued
(mcpserver/grants.py).
"""

from __future__ import annotations

import uuid

from django.db import models

from core.fields import StorableJSONField
from core.tenancy import OrgOwned


class McpPolicy(OrgOwned):
    """Who may connect over MCP in an organization (one row per organization)."""

    class Approval(models.TextChoices):
        NEVER = "never", "Never ask"
        ALWAYS = "always", "Ask before every write"

    enabled = models.BooleanField(default=True)
    # OAuth client ids (CIMD URLs or registered ids) allowed to connect; empty: any.
    allowed_client_ids = models.JSONField(default=list, blank=True)
    approval_policy = models.CharField(
        max_length=10, choices=Approval.choices, default=Approval.NEVER
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="mcp_policy_one_per_org")
        ]

    def __str__(self) -> str:
        return f"MCP policy of {self.organization_id}"

    def allows(self, client_id: str) -> bool:
        return self.enabled and (
            not self.allowed_client_ids or client_id in self.allowed_client_ids
        )


class McpConnection(OrgOwned):
    """A grant: one person's authorization of one MCP client, in one organization (another
    organization's consent is another grant). Its organization never changes."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey("portal.User", on_delete=models.CASCADE, related_name="+")
    application = models.ForeignKey(
        "oauth2_provider.Application", on_delete=models.CASCADE, related_name="+"
    )
    scopes = models.JSONField(default=list)
    # What the client is shown (connections/discovery.py): every tool, or the meta-tools.
    tool_mode = models.CharField(max_length=10, default="auto")
    # The toolset the person limited this client to at consent, if any (never widened
    # by deleting it: a toolset in use cannot be deleted).
    toolset = models.ForeignKey(
        "connections.Toolset", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    authorized_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-authorized_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user", "application"], name="mcp_grant_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.application_id}"


class McpTokenFamily(OrgOwned):
    """The tokens started by one code exchange (django-oauth-toolkit's `token_family`: a
    refresh rotates within it), bound to the grant they were issued under; or the one
    access token an identity assertion (ID-JAG) got, which has no refresh token."""

    family = models.UUIDField(unique=True)
    connection = models.ForeignKey(McpConnection, on_delete=models.CASCADE, related_name="+")
    # SHA-256 of the authorization code that started the family: a replay of that code
    # revokes it (RFC 6749 §4.1.2). Empty for an assertion's token.
    code_hash = models.CharField(max_length=64, db_index=True, blank=True)
    access_token = models.OneToOneField(
        "oauth2_provider.AccessToken",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"tokens {self.family} of {self.connection_id}"


class McpApproval(OrgOwned):
    """A write asked for over MCP under the `always` policy: it runs once, only after the
    person (or an admin) approves it, when the client calls it again with the same
    arguments."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        APPROVED = "approved", "Approved"
        DECLINED = "declined", "Declined"
        USED = "used", "Done"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        "portal.User", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    identifier = models.CharField(max_length=255)
    client_id = models.CharField(max_length=255)
    tool_name = models.CharField(max_length=100)
    arguments = StorableJSONField(default=dict)
    fingerprint = models.CharField(max_length=64, db_index=True)
    # Who may approve, as the policy rule that held the call names them (roles or
    # identifiers; never the requester). Empty: the person, or an admin.
    approvers = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        "portal.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.tool_name} ({self.status})"


class McpSession(OrgOwned):
    """A handshake-era MCP session (protocol 2025-06-18 / 2025-11-25), kept in the database
    so any web process answers it (mcpserver/sessions.py): no sticky routing. The SDK
    serves every request statelessly; the gate issues, checks and ends these ids."""

    id = models.CharField(max_length=64, primary_key=True)
    # Who opened it: organization, identifier and client (mcpserver.gate.principal_key).
    principal = models.CharField(max_length=600)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(
                fields=["organization", "principal", "last_seen_at"],
                name="mcp_session_by_principal",
            )
        ]

    def __str__(self) -> str:
        return f"MCP session {self.id[:8]}…"
