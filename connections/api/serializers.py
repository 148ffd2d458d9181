from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from connections import authorization, policy, toolsets
from connections.models import Budget, ConnectedAccount, Connection, PolicyRule, Toolset
from connections.providers.schema import CONNECTION_NAME_LIMIT


class ConnectionSerializer(serializers.ModelSerializer):
    """A connection; `client_secret` is write-only and never returned."""

    client_secret = serializers.CharField(write_only=True, required=False, allow_blank=True)
    has_client_secret = serializers.SerializerMethodField()
    redirect_uri = serializers.SerializerMethodField()
    scopes = serializers.ListField(child=serializers.CharField(), required=False)
    disabled_tools = serializers.ListField(child=serializers.CharField(), required=False)
    settings = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=255),
        required=False,
        help_text="Per-connection values the provider declares (hostname, tenant, login host).",
    )
    authorization_url = serializers.CharField(required=False, allow_blank=True, max_length=500)
    token_url = serializers.CharField(required=False, allow_blank=True, max_length=500)
    revoke_url = serializers.CharField(required=False, allow_blank=True, max_length=500)
    api_base_url = serializers.CharField(required=False, allow_blank=True, max_length=500)

    class Meta:
        model = Connection
        fields = [
            "name",
            "provider",
            "client_id",
            "client_secret",
            "has_client_secret",
            "scopes",
            "enabled",
            "settings",
            "authorization_url",
            "token_url",
            "revoke_url",
            "api_base_url",
            "disabled_tools",
            "redirect_uri",
            "sandbox",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["sandbox", "created_at", "updated_at"]
        extra_kwargs = {
            "name": {"validators": [], "max_length": CONNECTION_NAME_LIMIT},
            "provider": {"required": True},
        }

    def get_has_client_secret(self, connection: Connection) -> bool:
        return connection.has_secret("client_secret_sealed")

    def get_redirect_uri(self, connection: Connection) -> str:
        return authorization.redirect_uri_for(connection, self.context.get("request"))


class ConnectionUpdateSerializer(ConnectionSerializer):
    class Meta(ConnectionSerializer.Meta):
        read_only_fields = ["name", "provider", "created_at", "updated_at"]


class ConnectedAccountSerializer(serializers.ModelSerializer):
    """A connected account. Never carries a token."""

    connection_name = serializers.CharField(source="connection.name")
    provider = serializers.CharField(source="connection.provider")
    scopes = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="The scopes the person granted."
    )

    class Meta:
        model = ConnectedAccount
        fields = [
            "id",
            "connection_name",
            "provider",
            "identifier",
            "provider_account_id",
            "provider_account_label",
            "is_default",
            "status",
            "status_reason",
            "scopes",
            "token_expires_at",
            "last_used_at",
            "created_at",
            "updated_at",
        ]


class ConnectedAccountCreateSerializer(serializers.Serializer):
    connection_name = serializers.CharField(max_length=64)
    identifier = serializers.CharField(max_length=255, required=False, trim_whitespace=False)


class AuthorizationLinkSerializer(ConnectedAccountCreateSerializer):
    user_verify_url = serializers.URLField(
        required=False,
        allow_blank=True,
        max_length=1000,
        help_text="API keys only: where the person's browser goes to be confirmed by your "
        "backend (identifiers that are not portal users).",
    )
    state = serializers.CharField(required=False, allow_blank=True, max_length=500)
    add_account = serializers.BooleanField(
        required=False,
        help_text="Connect another account at the same provider (work and personal).",
    )


class AuthorizationLinkResponseSerializer(serializers.Serializer):
    link = serializers.URLField()
    expires_at = serializers.DateTimeField()
    auth_request_id = serializers.UUIDField()
    connected_account = ConnectedAccountSerializer()


class VerifySerializer(serializers.Serializer):
    auth_request_id = serializers.CharField(max_length=64)
    identifier = serializers.CharField(max_length=255, trim_whitespace=False)


class VerifyResponseSerializer(serializers.Serializer):
    connected_account = ConnectedAccountSerializer()
    post_user_verify_redirect_url = serializers.URLField()


class ToolSerializer(serializers.Serializer):
    name = serializers.CharField(
        help_text="The name to call it by: qualified as <connection>__<tool> when the "
        "identifier has accounts on several connections of the provider."
    )
    tool = serializers.CharField(help_text="The tool's own name in the catalog.")
    description = serializers.CharField()
    input_schema = serializers.DictField(
        help_text="The tool's input as JSON Schema (the portable subset models accept)."
    )
    connection_name = serializers.CharField()
    provider = serializers.CharField()
    required_scopes = serializers.ListField(child=serializers.CharField())
    write = serializers.BooleanField()


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": True,
        "description": "The tool's input; its JSON Schema is in GET /tools.",
    }
)
class ToolParamsField(serializers.JSONField):
    """Any JSON on the way in: execute_tool answers a non-object with 422 and its path."""


class ExecuteSerializer(serializers.Serializer):
    tool_name = serializers.CharField(max_length=64)
    identifier = serializers.CharField(max_length=255, required=False, trim_whitespace=False)
    params = ToolParamsField(required=False)
    connection_name = serializers.CharField(max_length=64, required=False)
    account_id = serializers.UUIDField(
        required=False, help_text="Which account, when the identifier has several here."
    )


class ExecuteResponseSerializer(serializers.Serializer):
    data = serializers.JSONField()  # type: ignore[assignment]  # the answer's `data` key
    execution_id = serializers.CharField()


class ProxySerializer(serializers.Serializer):
    connection_name = serializers.CharField(max_length=64)
    identifier = serializers.CharField(max_length=255, required=False, trim_whitespace=False)
    account_id = serializers.UUIDField(required=False)
    method = serializers.ChoiceField(choices=["GET", "POST", "PUT", "PATCH", "DELETE"])
    path = serializers.CharField(
        max_length=2000,
        allow_blank=True,
        trim_whitespace=False,
        help_text="Under the connection's API base URL, e.g. /user/repos.",
    )
    query = serializers.DictField(required=False)
    headers = serializers.DictField(child=serializers.CharField(max_length=1000), required=False)
    body = serializers.JSONField(required=False)


class ProxyResponseSerializer(serializers.Serializer):
    status = serializers.IntegerField()
    headers = serializers.DictField(child=serializers.CharField())
    body = serializers.JSONField(allow_null=True)
    execution_id = serializers.CharField()


class ProviderToolSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    required_scopes = serializers.ListField(child=serializers.CharField())
    write = serializers.BooleanField()


class ProviderSettingSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # the account's label
    default = serializers.CharField()
    help = serializers.CharField()


class ProviderScopeSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()


class ProviderSerializer(serializers.Serializer):
    key = serializers.CharField()
    display_name = serializers.CharField()
    docs_url = serializers.CharField()
    register_url = serializers.CharField()
    setup_notes = serializers.CharField()
    redirect_uri = serializers.CharField()
    default_scopes = serializers.ListField(child=serializers.CharField())
    scopes_needed_by_tools = serializers.ListField(child=serializers.CharField())
    requested_scopes = serializers.ListField(
        child=serializers.CharField(), help_text="What a new connection asks for."
    )
    later_scopes = serializers.ListField(
        child=serializers.CharField(),
        help_text="Scopes some tool needs beyond those: asked for when that tool is used.",
    )
    scopes = ProviderScopeSerializer(many=True)
    settings = ProviderSettingSerializer(many=True)
    refresh = serializers.BooleanField()
    revoke = serializers.BooleanField()
    tools = ProviderToolSerializer(many=True)


class ToolSearchResultSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The name to call it by.")
    provider = serializers.CharField()
    description = serializers.CharField()
    write = serializers.BooleanField(help_text="It creates, changes or deletes something.")
    score = serializers.FloatField(help_text="Relevance: higher is better; ranked best first.")


class ToolsetSerializer(serializers.ModelSerializer):
    """A toolset; `tool_names` lists the catalog tools it includes (read-only)."""

    providers = serializers.ListField(child=serializers.CharField(), required=False)
    tools = serializers.ListField(child=serializers.CharField(), required=False)
    # Choice and name checks live in connections.toolsets, shared with the pages.
    access = serializers.CharField(
        required=False, help_text="read (reads only, the default) or write (reads and writes)."
    )
    name = serializers.CharField(max_length=64)
    tool_names = serializers.SerializerMethodField()

    class Meta:
        model = Toolset
        fields = [
            "name",
            "description",
            "providers",
            "tools",
            "access",
            "tool_names",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def get_tool_names(self, toolset: Toolset) -> list[str]:
        return [tool.name for tool in toolsets.catalog_of(toolset)]


class PolicyConditionSerializer(serializers.Serializer):
    path = serializers.CharField(help_text="The argument, e.g. $.channel or $.board_id.")
    op = serializers.CharField(
        help_text="equals, not_equals, in, not_in, regex, missing or present."
    )
    value = serializers.JSONField(required=False)


class PolicyRuleSerializer(serializers.ModelSerializer):
    """A policy rule; empty lists match anything. Checks live in connections.policy."""

    providers = serializers.ListField(child=serializers.CharField(), required=False)
    tools = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Names or globs (monday_*)."
    )
    roles = serializers.ListField(child=serializers.CharField(), required=False)
    identifiers = serializers.ListField(child=serializers.CharField(), required=False)
    vias = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="api, proxy, agent or mcp."
    )
    agents = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Agents' names."
    )
    clients = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="MCP clients' ids."
    )
    conditions = PolicyConditionSerializer(many=True, required=False)
    access = serializers.CharField(required=False, help_text="any, read or write.")
    effect = serializers.CharField(help_text="allow, deny, approve or limit.")
    approvers = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="For approve: roles or members' emails who may approve — never the "
        "requester (four-eyes). Empty: the caller (or an admin).",
    )
    limit_per = serializers.CharField(required=False, help_text="member or organization.")
    limit_count = serializers.IntegerField(required=False, allow_null=True)
    limit_window_seconds = serializers.IntegerField(required=False, allow_null=True)
    position = serializers.IntegerField(required=False)

    class Meta:
        model = PolicyRule
        fields = ["id", *policy.FIELDS, "version", "created_at", "updated_at"]
        read_only_fields = ["id", "version", "created_at", "updated_at"]


class DataProtectionSerializer(serializers.Serializer):
    """{"detectors": {"email": {"arguments": "allow", "results": "redact"}, …}, "custom":
    {"ticket": "TCK-\\d+"}}: each detector (built-in or custom) with its action per
    direction — allow, redact or block; answers list every detector."""

    detectors = serializers.DictField(child=serializers.DictField(child=serializers.CharField()))
    custom = serializers.DictField(child=serializers.CharField(), required=False)


class BudgetSerializer(serializers.ModelSerializer):
    """A cap on model tokens or tool calls per day or month (connections/budgets.py).
    `subject`: the agent's name or member's identifier; empty: each agent / member."""

    scope = serializers.CharField(help_text="organization, agent or member.")
    subject = serializers.CharField(required=False, allow_blank=True)
    metric = serializers.CharField(help_text="tokens or tool_calls.")
    period = serializers.CharField(help_text="day or month.")
    limit = serializers.IntegerField()

    class Meta:
        model = Budget
        fields = ["id", "scope", "subject", "metric", "period", "limit", "created_at"]
        read_only_fields = ["id", "created_at"]


class PolicyHookSerializer(serializers.Serializer):
    """The organization's pre-execution hook (connections/policy_hook.py). `secret` (the
    Standard Webhooks signing secret) is in the answer only when it was just made: on
    creation, or with `rotate_secret`."""

    url = serializers.CharField(help_text="An https URL the egress policy allows.")
    fail_open = serializers.BooleanField(
        required=False, help_text="No answer in 2 s: allow (true) or refuse (the default)."
    )
    enabled = serializers.BooleanField(required=False)
    rotate_secret = serializers.BooleanField(required=False, write_only=True)
    id = serializers.UUIDField(read_only=True)
    secret = serializers.CharField(read_only=True, required=False)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
