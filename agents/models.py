"""Agents, their runs and each run's steps."""

from __future__ import annotations

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from connections.vault import SealedFieldsMixin
from core.fields import StorableCharField, StorableJSONField, StorableTextField
from core.tenancy import OrgOwned
from core.tracing import current_trace_id


class Agent(SealedFieldsMixin, OrgOwned):
    class Approval(models.TextChoices):
        NEVER = "never", "Never ask"
        ALWAYS = "always", "Ask before every write"

    class ToolMode(models.TextChoices):
        AUTO = "auto", "Discovery when the user has more than 30 tools"
        ALL = "all", "Every tool, always"
        DISCOVERY = "discovery", "Search, describe and call (three meta-tools)"

    sealed_fields = ("api_key_sealed",)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    instructions = models.TextField(blank=True)
    model = models.CharField(max_length=100, default="gpt-4o")
    temperature = models.FloatField(
        default=0.2, validators=[MinValueValidator(0.0), MaxValueValidator(2.0)]
    )
    max_steps = models.PositiveSmallIntegerField(
        default=8, validators=[MinValueValidator(1), MaxValueValidator(50)]
    )
    # Allow-lists: empty means every connection / tool the user has.
    allowed_connections = models.JSONField(default=list, blank=True)
    allowed_tools = models.JSONField(default=list, blank=True)
    approval_policy = models.CharField(
        max_length=10, choices=Approval.choices, default=Approval.NEVER
    )
    base_url = models.URLField(max_length=500, blank=True)
    # What the model is offered: every tool definition, or the discovery surface.
    tool_mode = models.CharField(max_length=10, choices=ToolMode.choices, default=ToolMode.AUTO)
    # A toolset (connections/toolsets.py) the agent's tools are limited to, besides the lists.
    toolset = models.ForeignKey(
        "connections.Toolset", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Characters of one tool result the model gets whole; above it, a part and a handle.
    result_limit = models.PositiveIntegerField(
        default=16 * 1024, validators=[MinValueValidator(1024), MaxValueValidator(1024 * 1024)]
    )
    # The sandbox model (sandbox/model.py) instead of a language model.
    sandbox_model = models.BooleanField(default=False)
    api_key_sealed = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        "portal.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="agent_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    NEEDS_CONNECTION = "needs_connection", "Needs a connection"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


FINISHED = {RunStatus.NEEDS_CONNECTION, RunStatus.SUCCEEDED, RunStatus.FAILED}


class AgentRun(OrgOwned):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="runs")
    user = models.ForeignKey(
        "portal.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_key = models.ForeignKey(
        "portal.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    identifier = models.CharField(max_length=255)
    prompt = models.TextField()
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED)
    # Model answers and tool results may hold any text: stored with escapes, never an error.
    status_reason = StorableCharField(max_length=500, blank=True)
    final_text = StorableTextField(blank=True)
    connection_name = models.CharField(max_length=64, blank=True)
    authorization_link = models.URLField(max_length=1000, blank=True)
    # The Chat Completions conversation so far (tool results included, never a secret),
    # and the tool calls still waiting for a human decision.
    messages = StorableJSONField(default=list, blank=True)
    pending_tool_calls = StorableJSONField(default=list, blank=True)
    # The worker driving the run holds a lease on it (agents/leases.py).
    lease_owner = models.CharField(max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    model_calls = models.PositiveSmallIntegerField(default=0)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="run_org_newest"),
            models.Index(fields=["organization", "user", "-created_at"], name="run_org_user"),
            # Runs to hand out again (agents/leases.stalled_run_ids): live runs only.
            models.Index(
                fields=["organization", "lease_expires_at"],
                name="run_live_lease",
                condition=models.Q(status__in=["queued", "running"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agent} run {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class AgentStep(OrgOwned):
    class Kind(models.TextChoices):
        MODEL = "model", "Model call"
        TOOL = "tool", "Tool call"

    class Outcome(models.TextChoices):
        OK = "ok", "OK"
        ERROR = "error", "Error"
        AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
        APPROVED = "approved", "Approved"
        DECLINED = "declined", "Declined"
        # Written ahead of the call; a step still "started" after a crash was cut short.
        STARTED = "started", "Started"
        # A write cut short by a crash: it may or may not have happened.
        UNKNOWN = "unknown", "Outcome unknown"

    run = models.ForeignKey(AgentRun, on_delete=models.CASCADE, related_name="steps")
    index = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    tool_name = StorableCharField(max_length=64, blank=True)
    tool_call_id = models.CharField(max_length=100, blank=True)
    arguments = StorableJSONField(default=dict, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.OK)
    summary = StorableTextField(blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    execution_id = models.CharField(max_length=32, blank=True)
    # The whole result, when it was too large for the model (connections/results.py).
    result = models.ForeignKey(
        "connections.StoredResult",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    latency_ms = models.FloatField(default=0)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    # The OpenTelemetry trace the step ran in (core/tracing.py), when tracing is on.
    trace_id = models.CharField(max_length=32, blank=True, default=current_trace_id)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "index"]
        constraints = [models.UniqueConstraint(fields=["run", "index"], name="step_index_unique")]

    def __str__(self) -> str:
        return f"step {self.index} of {self.run_id}: {self.kind} {self.tool_name}"


class ApprovalLink(OrgOwned):
    """A signed, single-use, expiring link to decide one held call (agents/approval_links.py):
    an agent run's waiting call (`kind` run, `target` the run) or an MCP approval (`kind`
    mcp, `target` the approval). Sent by email to one person (`recipient`) or in the
    `approval.requested` webhook event (no recipient: whoever opens it must still be
    allowed to decide)."""

    class Kind(models.TextChoices):
        RUN = "run", "Agent run"
        MCP = "mcp", "MCP call"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=3, choices=Kind.choices)
    target = models.UUIDField()
    fingerprint = models.CharField(max_length=64)  # of the call it was sent for
    recipient = models.ForeignKey(
        "portal.User", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "kind", "target"], name="approval_link_target")
        ]

    def __str__(self) -> str:
        return f"approval link for {self.kind} {self.target}"
