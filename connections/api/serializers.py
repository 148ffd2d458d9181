from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from connections import oauth
from connections.audit_log import EVENT_FIELDS
from connections.models import AuditEvent, ConnectedAccount, Connection


class ConnectionSerializer(serializers.ModelSerializer):
    """A connection; `client_secret` is write-only and never returned."""

    client_secret = serializers.CharField(write_only=True, required=False, allow_blank=True)
    has_client_secret = serializers.SerializerMethodField()
    redirect_uri = serializers.SerializerMethodField()
    scopes = serializers.ListField(child=serializers.CharField(), required=False)
    disabled_tools = serializers.ListField(child=serializers.CharField(), required=False)

    class Meta:
        model = Connection
        fields = [
            "name",
            "provider",
            "auth_type",
            "client_id",
            "client_secret",
            "has_client_secret",
            "scopes",
            "enabled",
            "authorization_url",
            "token_url",
            "revoke_url",
            "api_base_url",
            "disabled_tools",
            "redirect_uri",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["auth_type", "created_at", "updated_at"]
        extra_kwargs = {"name": {"validators": []}, "provider": {"required": True}}

    def get_has_client_secret(self, connection: Connection) -> bool:
        return connection.has_secret("client_secret_sealed")

    def get_redirect_uri(self, connection: Connection) -> str:
        return oauth.redirect_uri_for(connection, self.context.get("request"))


class ConnectionUpdateSerializer(ConnectionSerializer):
    class Meta(ConnectionSerializer.Meta):
        read_only_fields = ["name", "provider", "auth_type", "created_at", "updated_at"]


class ConnectedAccountSerializer(serializers.ModelSerializer):
    """A connected account. Never carries a token."""

    connection_name = serializers.CharField(source="connection.name")
    provider = serializers.CharField(source="connection.provider")

    class Meta:
        model = ConnectedAccount
        fields = [
            "id",
            "connection_name",
            "provider",
            "identifier",
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
    user_verify_url = serializers.URLField(required=False, allow_blank=True, max_length=1000)
    state = serializers.CharField(required=False, allow_blank=True, max_length=500)


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
    name = serializers.CharField()
    description = serializers.CharField()
    input_schema = serializers.JSONField()
    connection_name = serializers.CharField()
    provider = serializers.CharField()
    required_scopes = serializers.ListField(child=serializers.CharField())
    write = serializers.BooleanField()


class ToolListSerializer(serializers.Serializer):
    tools = ToolSerializer(many=True)


@extend_schema_field(
    {"type": "object", "description": "The tool's input; its JSON Schema is in GET /tools."}
)
class ToolParamsField(serializers.JSONField):
    """Any JSON on the way in: execute_tool answers a non-object with 422 and its path."""


class ExecuteSerializer(serializers.Serializer):
    tool_name = serializers.CharField(max_length=64)
    identifier = serializers.CharField(max_length=255, required=False, trim_whitespace=False)
    params = ToolParamsField(required=False, default=dict)
    connection_name = serializers.CharField(max_length=64, required=False)


class ExecuteResponseSerializer(serializers.Serializer):
    data = serializers.JSONField()
    execution_id = serializers.CharField()


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = list(EVENT_FIELDS)
