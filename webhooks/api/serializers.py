from rest_framework import serializers

from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


class EndpointSerializer(serializers.ModelSerializer):
    """A webhook endpoint. Its signing secret is never returned, except once: in
    `secret` of the answer that created or rotated it."""

    event_types = serializers.ListField(child=serializers.CharField(), required=False)
    url = serializers.CharField(max_length=2000)
    has_previous_secret = serializers.SerializerMethodField()

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "enabled",
            "disabled_reason",
            "failing_since",
            "has_previous_secret",
            "previous_secret_expires_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "disabled_reason",
            "failing_since",
            "previous_secret_expires_at",
            "created_at",
            "updated_at",
        ]

    def get_has_previous_secret(self, endpoint: WebhookEndpoint) -> bool:
        return bool(endpoint.previous_secret_sealed)


class EndpointWithSecretSerializer(EndpointSerializer):
    secret = serializers.CharField(read_only=True)

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["at", "status_code", "latency_ms", "response_excerpt", "error"]


class DeliverySerializer(serializers.ModelSerializer):
    event_id = serializers.CharField(source="event.webhook_id", read_only=True)
    event_type = serializers.CharField(source="event.type", read_only=True)
    endpoint_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event_id",
            "event_type",
            "endpoint_id",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "created_at",
            "delivered_at",
        ]


class DeliveryDetailSerializer(DeliverySerializer):
    payload = serializers.JSONField(source="event.payload", read_only=True)
    attempt_log = AttemptSerializer(source="tries", many=True, read_only=True)

    class Meta(DeliverySerializer.Meta):
        fields = [*DeliverySerializer.Meta.fields, "payload", "attempt_log"]


class ReplayFailedSerializer(serializers.Serializer):
    since = serializers.DateTimeField()


class ReplayedSerializer(serializers.Serializer):
    replayed = serializers.IntegerField()


class EventTypeSerializer(serializers.Serializer):
    type = serializers.CharField()
    description = serializers.CharField()
    opt_in = serializers.BooleanField()
    schema = serializers.JSONField()
