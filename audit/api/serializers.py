from rest_framework import serializers

from audit.models import AuditEvent
from audit.review import EVENT_FIELDS


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = list(EVENT_FIELDS)
