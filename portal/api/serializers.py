from rest_framework import serializers

from portal.models import Membership, Organization


class OrganizationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["slug", "name", "created_at", "audit_retention_days"]


class MemberSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email")
    name = serializers.CharField(source="user.name")
    identifier = serializers.CharField(
        source="user.identifier",
        help_text="Whom tools, runs and MCP calls act as: name it with an API key.",
    )
    joined_at = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Membership
        fields = ["id", "email", "name", "identifier", "role", "joined_at"]
