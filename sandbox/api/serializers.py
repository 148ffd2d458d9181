from __future__ import annotations

from rest_framework import serializers

from core.api.fields import StrictCharField
from sandbox.models import ModelScript


class SandboxConnectionRequestSerializer(serializers.Serializer):
    provider = StrictCharField(max_length=40, help_text="A catalog provider, e.g. monday.")


class ScriptStepSerializer(serializers.Serializer):
    tool = StrictCharField(max_length=128)
    arguments = serializers.DictField(required=False, default=dict)


class ModelScriptSerializer(serializers.ModelSerializer):
    """What the sandbox model does for a prompt containing `match`: `steps` one per turn,
    then `final`."""

    match = StrictCharField(max_length=500, min_length=1)
    steps = ScriptStepSerializer(many=True, required=False)
    final = StrictCharField(required=False, allow_blank=True, max_length=20_000)

    class Meta:
        model = ModelScript
        fields = ["id", "match", "steps", "final", "created_at"]
        read_only_fields = ["id", "created_at"]


class ResetSerializer(serializers.Serializer):
    worlds = serializers.IntegerField(read_only=True)
