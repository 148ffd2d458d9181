"""Connections domain: an organization's provider apps, connected accounts and OAuth attempts."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar, Self

from django.db import models
from django.utils import timezone

from connections.oauth_client import ENDPOINTS, ConnectionConfig
from connections.providers import get_provider
from connections.providers.catalog import Provider
from connections.vault import SealedFieldsMixin
from core.fields import StorableCharField, StorableJSONField
from core.tenancy import OrgOwned, OrgQuerySet


class Connection(SealedFieldsMixin, OrgOwned):
    """An organization's configuration of one provider (its OAuth app)."""

    sealed_fields = ("client_secret_sealed",)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.SlugField(max_length=64)
    provider = models.CharField(max_length=40)
    client_id = models.CharField(max_length=255, blank=True)
    client_secret_sealed = models.TextField(blank=True, default="")
    scopes = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    # Per-connection values the catalog entry declares (hostname, tenant, login host).
    settings = models.JSONField(default=dict, blank=True)
    # Endpoint overrides (self-hosted servers, emulators); may use the entry's placeholders.
    authorization_url = models.CharField(max_length=500, blank=True)
    token_url = models.CharField(max_length=500, blank=True)
    revoke_url = models.CharField(max_length=500, blank=True)
    api_base_url = models.CharField(max_length=500, blank=True)
    disabled_tools = models.JSONField(default=list, blank=True)
    # A sandbox connection: its provider is the portal's own emulator (the sandbox app).
    sandbox = models.BooleanField(default=False)
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

    def oauth_config(self, *, with_secret: bool = True) -> ConnectionConfig:
        """What the OAuth client and the transport need; the secret only when asked."""
        return ConnectionConfig(
            provider=self.provider_spec,
            client_id=self.client_id,
            client_secret=(self.get_secret("client_secret_sealed") or "") if with_secret else "",
            settings=self.provider_spec.settings_for(self.settings),
            overrides={name: getattr(self, name) for name in ENDPOINTS if getattr(self, name)},
        )

    def endpoint(self, name: str, kept: dict[str, str] | None = None) -> str:
        """An endpoint URL: the connection's override, else the catalog's template."""
        return self.oauth_config(with_secret=False).endpoint(name, kept)


class AccountStatus(models.TextChoices):
    PENDING_AUTH = "PENDING_AUTH", "Waiting for authorization"
    PENDING_VERIFICATION = "PENDING_VERIFICATION", "Waiting for verification"
    ACTIVE = "ACTIVE", "Active"
    EXPIRED = "EXPIRED", "Expired"
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
    # Reasons and identities quote providers' words: stored with escapes, never an error.
    status_reason = StorableCharField(max_length=255, blank=True)
    scopes = StorableJSONField(default=list, blank=True)
    # Who the account is at the provider ("who am I" at connect time).
    provider_account_id = StorableCharField(max_length=255, blank=True, default="")
    provider_account_label = StorableCharField(max_length=255, blank=True)
    # Values kept from the token response or the post-connect hook (instance_url,
    # cloud_id, team_id): never secrets.
    provider_data = StorableJSONField(default=dict, blank=True)
    # Among one identifier's accounts on a connection, the one tools use by default.
    is_default = models.BooleanField(default=True)
    token_set_sealed = models.TextField(blank=True, default="")
    token_issued_at = models.DateTimeField(null=True, blank=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    refresh_failure_count = models.PositiveIntegerField(default=0)
    last_error = StorableCharField(max_length=255, blank=True)
    # The refresh in flight (connections/tokens.py): who called the token endpoint, since
    # when. Taken under the row lock, so exactly one process refreshes an account at a time,
    # without holding a transaction open while the provider answers.
    refresh_claimed_at = models.DateTimeField(null=True, blank=True)
    refresh_claimed_by = models.CharField(max_length=200, blank=True, default="")
    # A refresh whose answer never got stored (timed out, or its process died): the provider
    # may have rotated the refresh token we still hold.
    refresh_outcome_unknown_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Several accounts per person (work and personal), told apart by who they are
            # at the provider; "" while a first authorization is pending.
            models.UniqueConstraint(
                fields=["organization", "connection", "identifier", "provider_account_id"],
                name="connected_account_unique",
            )
        ]
        indexes = [
            models.Index(fields=["organization", "identifier"], name="account_org_ident"),
            # The due-for-refresh scan (connections/upkeep.due_page): active accounts only.
            models.Index(
                fields=["organization", "token_expires_at"],
                name="account_due",
                condition=models.Q(status="ACTIVE"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.identifier} @ {self.connection_id}"

    @property
    def display_label(self) -> str:
        return self.provider_account_label or self.provider_account_id or "not yet identified"


class AuthorizationRequestQuerySet(OrgQuerySet):
    def unfinished(self) -> Self:
        """Attempts still waiting for the provider's answer or the customer's verification."""
        return self.filter(
            status__in=[
                AuthorizationRequest.Status.PENDING,
                AuthorizationRequest.Status.AWAITING_VERIFICATION,
            ]
        )

    def fail(self, reason: str) -> int:
        """End these attempts as failed and erase what they hold; how many ended."""
        return self.update(
            status=AuthorizationRequest.Status.FAILED,
            failure_reason=reason,
            pending_token_set_sealed="",
            code_verifier_sealed="",
        )


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

    objects: ClassVar[Any] = AuthorizationRequestQuerySet.as_manager()

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
    # Scopes asked for beyond the connection's (incremental consent for one tool).
    requested_scopes = models.JSONField(default=list, blank=True)
    # "Add another account": the answer becomes a new account unless it is one we have.
    add_account = models.BooleanField(default=False)
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


class ToolAccess(models.TextChoices):
    READ = "read", "Reads only"
    WRITE = "write", "Reads and writes"


class Toolset(OrgOwned):
    """A named part of the catalog (connections/toolsets.py): tools of some providers, or
    named tools, reads only or reads and writes. Agents and MCP grants may be limited to
    one; MCP clients address one at /mcp/t/<name>."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.SlugField(max_length=64)
    description = models.CharField(max_length=500, blank=True)
    # Empty providers and tools: every provider's tools.
    providers = models.JSONField(default=list, blank=True)
    tools = models.JSONField(default=list, blank=True)
    access = models.CharField(max_length=5, choices=ToolAccess.choices, default=ToolAccess.READ)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="toolset_name_unique")
        ]

    def __str__(self) -> str:
        return self.name

    def includes(self, tool: Any) -> bool:
        """Whether a catalog tool is part of this toolset."""
        if tool.write and self.access != ToolAccess.WRITE:
            return False
        if not self.providers and not self.tools:
            return True
        return tool.provider in self.providers or tool.name in self.tools


class StoredResult(OrgOwned):
    """A tool result too large to hand a model or MCP client whole (connections/results.py):
    kept for whoever called, read a page at a time by its id (the handle)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    identifier = models.CharField(max_length=255)
    execution_id = models.CharField(max_length=32, blank=True)
    content = models.TextField()
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "created_at"], name="stored_result_org")]

    def __str__(self) -> str:
        return f"result {self.pk} ({self.size} characters)"


class PolicyEffect(models.TextChoices):
    ALLOW = "allow", "Allow"
    DENY = "deny", "Deny"
    APPROVE = "approve", "Needs a person's approval"
    LIMIT = "limit", "Limit the rate"


class PolicyRule(OrgOwned):
    """One rule of the organization's tool-call policy (connections/policy.py): what it
    matches — empty lists match anything — and its effect. Rules apply in `position`
    order; the first that matches decides."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    position = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=100)
    message = models.CharField(max_length=500, blank=True)
    enabled = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)
    providers = models.JSONField(default=list, blank=True)
    tools = models.JSONField(default=list, blank=True)  # names or globs (monday_*)
    access = models.CharField(max_length=5, default="any")  # any, read, write
    roles = models.JSONField(default=list, blank=True)
    identifiers = models.JSONField(default=list, blank=True)
    vias = models.JSONField(default=list, blank=True)  # api, proxy, agent, mcp
    agents = models.JSONField(default=list, blank=True)  # agent names
    clients = models.JSONField(default=list, blank=True)  # MCP client ids
    conditions = models.JSONField(default=list, blank=True)  # [{path, op, value}]
    effect = models.CharField(max_length=10, choices=PolicyEffect.choices)
    limit_count = models.PositiveIntegerField(null=True, blank=True)
    limit_window_seconds = models.PositiveIntegerField(null=True, blank=True)
    limit_per = models.CharField(max_length=12, default="member")  # member, organization
    # For `approve`: who may approve — roles and/or identifiers; never the requester
    # (four-eyes). Empty: the caller themselves (or an admin), as "ask before writes".
    approvers = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "created_at"]
        indexes = [models.Index(fields=["organization", "position"], name="policy_rule_order")]

    def __str__(self) -> str:
        return f"{self.name} ({self.effect})"


class PolicyHook(SealedFieldsMixin, OrgOwned):
    """An organization's pre-execution hook (connections/policy_hook.py): an HTTPS endpoint
    asked about each call, signed like webhooks, answering allow / deny / approve."""

    sealed_fields = ("secret_sealed",)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    url = models.URLField(max_length=2000)
    secret_sealed = models.TextField(blank=True, default="")
    # No answer in time (or a bad one): allow the call (fail-open) or refuse it.
    fail_open = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="policy_hook_one_per_org")
        ]

    def __str__(self) -> str:
        return f"policy hook {self.url}"


class Budget(OrgOwned):
    """A ceiling on model tokens or tool calls per day or month (connections/budgets.py),
    for the organization, an agent (or each agent) or a member (or each member)."""

    class Scope(models.TextChoices):
        ORGANIZATION = "organization", "The organization"
        AGENT = "agent", "An agent"
        MEMBER = "member", "A member"

    class Metric(models.TextChoices):
        TOKENS = "tokens", "Model tokens"
        TOOL_CALLS = "tool_calls", "Tool calls"

    class Period(models.TextChoices):
        DAY = "day", "Per day"
        MONTH = "month", "Per month"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    scope = models.CharField(max_length=12, choices=Scope.choices)
    # The agent's name or the member's identifier; "" = each agent / each member.
    subject = models.CharField(max_length=255, blank=True, default="")
    metric = models.CharField(max_length=10, choices=Metric.choices)
    period = models.CharField(max_length=5, choices=Period.choices)
    limit = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["scope", "subject", "metric", "period"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "scope", "subject", "metric", "period"],
                name="budget_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.limit} {self.metric} per {self.period} ({self.scope} {self.subject})"


class UsageDay(OrgOwned):
    """What an organization used on one day (UTC), by agent, member and provider: counted
    as it happens (connections/budgets.py), read by budgets and the usage page."""

    id = models.BigAutoField(primary_key=True)
    day = models.DateField()
    agent = models.CharField(max_length=100, blank=True, default="")
    identifier = models.CharField(max_length=255, blank=True, default="")
    provider = models.CharField(max_length=40, blank=True, default="")
    tokens = models.PositiveBigIntegerField(default=0)
    tool_calls = models.PositiveIntegerField(default=0)  # calls that reached the provider
    denials = models.PositiveIntegerField(default=0)  # refused by the organization's controls
    # Every tool execution and proxy request, and those that did not succeed (the dashboard).
    attempts = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "day", "agent", "identifier", "provider"],
                name="usage_day_unique",
            )
        ]

    def __str__(self) -> str:
        return f"usage {self.day} {self.agent}/{self.identifier}/{self.provider}"
