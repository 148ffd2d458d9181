from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agents.configuration import EDITABLE_FIELDS
from agents.models import Agent, AgentRun, AgentStep
from agents.pending import pending_call


class AgentSerializer(serializers.ModelSerializer):
    """An agent; `api_key` (the model API key override) is write-only and never returned."""

    api_key = serializers.CharField(
        write_only=True, required=False, allow_blank=True, trim_whitespace=True
    )
    # No `default` in the schema: generated clients would make the field mandatory.
    clear_api_key = serializers.BooleanField(write_only=True, required=False)
    has_api_key = serializers.SerializerMethodField()
    allowed_connections = serializers.ListField(child=serializers.CharField(), required=False)
    allowed_tools = serializers.ListField(child=serializers.CharField(), required=False)
    # Range and choice checks live in agents.configuration, shared with the pages.
    temperature = serializers.FloatField(required=False)
    max_steps = serializers.IntegerField(required=False)
    approval_policy = serializers.CharField(required=False)
    base_url = serializers.CharField(required=False, allow_blank=True)
    tool_mode = serializers.CharField(
        required=False,
        help_text="auto (discovery above 30 tools), all, or discovery (search, describe "
        "and call meta-tools).",
    )
    toolset = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="The name of a toolset the agent's tools are limited to (null: none).",
    )
    result_limit = serializers.IntegerField(
        required=False,
        help_text="Characters of one tool result the model gets whole (1,024 to 1,048,576; "
        "default 16,384); a larger result is stored and the model reads it a page at a time.",
    )
    sandbox_model = serializers.BooleanField(
        required=False,
        help_text="Use the portal's sandbox model (scripts and explicit calls), no key needed.",
    )

    class Meta:
        model = Agent
        fields = [
            "id",
            *EDITABLE_FIELDS,
            "api_key",
            "clear_api_key",
            "has_api_key",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs: dict[str, dict[str, Any]] = {"name": {"validators": []}}

    def get_has_api_key(self, agent: Agent) -> bool:
        return agent.has_secret("api_key_sealed")


class AgentStepSerializer(serializers.ModelSerializer):
    class Meta:
        model = AgentStep
        fields = [
            "index",
            "kind",
            "tool_name",
            "tool_call_id",
            "arguments",
            "outcome",
            "summary",
            "error_code",
            "execution_id",
            "latency_ms",
            "prompt_tokens",
            "completion_tokens",
            "created_at",
        ]


class PendingApprovalSerializer(serializers.Serializer):
    tool_call_id = serializers.CharField()
    tool_name = serializers.CharField()
    arguments = serializers.JSONField(help_text="Every argument, in full: what will run.")
    fingerprint = serializers.CharField(
        help_text="Send it back with the decision: it names exactly this call."
    )


class RunDecisionSerializer(serializers.Serializer):
    """The call a decision is about, as `pending_approval` showed it: a run that waits on
    another call by then answers 409 `approval_mismatch` and nothing runs."""

    tool_call_id = serializers.CharField(max_length=200)
    fingerprint = serializers.CharField(max_length=64)


class AgentRunSerializer(serializers.ModelSerializer):
    agent_id = serializers.UUIDField(read_only=True)
    agent_name = serializers.CharField(source="agent.name", read_only=True)
    steps = AgentStepSerializer(many=True, read_only=True)
    pending_approval = serializers.SerializerMethodField()

    class Meta:
        model = AgentRun
        fields = [
            "id",
            "agent_id",
            "agent_name",
            "identifier",
            "status",
            "status_reason",
            "final_text",
            "connection_name",
            "authorization_link",
            "pending_approval",
            "model_calls",
            "prompt_tokens",
            "completion_tokens",
            "steps",
            "created_at",
            "started_at",
            "finished_at",
        ]

    @extend_schema_field(PendingApprovalSerializer(allow_null=True))
    def get_pending_approval(self, run: AgentRun) -> dict | None:
        call = pending_call(run)
        return PendingApprovalSerializer(call).data if call else None


class AgentRunSummarySerializer(AgentRunSerializer):
    """Runs in a list: everything but the steps."""

    class Meta(AgentRunSerializer.Meta):
        fields = [f for f in AgentRunSerializer.Meta.fields if f != "steps"]


class StartRunSerializer(serializers.Serializer):
    prompt = serializers.CharField(max_length=20_000, trim_whitespace=True)
    identifier = serializers.CharField(required=False, max_length=255)
