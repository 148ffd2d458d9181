"""REST API of the organization's policy rules (owners, admins and API keys)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from connections import data_protection, policy
from connections.api.serializers import DataProtectionSerializer, PolicyRuleSerializer
from core.api.pagination import CursorPagination
from core.api.permissions import IsOrganizationManager
from portal.requests import api_caller


class InOrder(CursorPagination):
    ordering = "position"  # ties keep their place: DRF's cursor counts an offset


def _values(serializer: Any) -> dict[str, Any]:
    values = dict(serializer.validated_data)
    if "conditions" in values:
        values["conditions"] = [dict(c) for c in values["conditions"]]
    return values


class PolicyRuleListView(generics.ListCreateAPIView):
    permission_classes = [IsOrganizationManager]
    serializer_class = PolicyRuleSerializer
    pagination_class = InOrder

    def get_queryset(self) -> QuerySet[Any]:
        return policy.rules_for_admin(organization=api_caller(self.request).organization)

    @extend_schema(summary="List policy rules, in the order they are asked")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(summary="Create a policy rule", responses={201: PolicyRuleSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rule = policy.create_rule(
            caller=api_caller(request), request=request, **_values(serializer)
        )
        return Response(PolicyRuleSerializer(rule).data, status=status.HTTP_201_CREATED)


class PolicyRuleDetailView(APIView):
    permission_classes = [IsOrganizationManager]

    def _rule(self, request: Request, rule_id: Any) -> Any:
        return policy.get_rule(organization=api_caller(request).organization, rule_id=rule_id)

    @extend_schema(summary="Get a policy rule", responses=PolicyRuleSerializer)
    def get(self, request: Request, rule_id: Any) -> Response:
        return Response(PolicyRuleSerializer(self._rule(request, rule_id)).data)

    @extend_schema(
        summary="Update a policy rule (its version goes up)",
        request=PolicyRuleSerializer,
        responses=PolicyRuleSerializer,
    )
    def patch(self, request: Request, rule_id: Any) -> Response:
        rule = self._rule(request, rule_id)
        serializer = PolicyRuleSerializer(rule, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        policy.update_rule(
            caller=api_caller(request), rule=rule, request=request, **_values(serializer)
        )
        return Response(PolicyRuleSerializer(rule).data)

    @extend_schema(summary="Delete a policy rule", responses={204: None})
    def delete(self, request: Request, rule_id: Any) -> Response:
        policy.delete_rule(
            caller=api_caller(request), rule=self._rule(request, rule_id), request=request
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class DataProtectionView(APIView):
    """The organization's data-loss protection settings (connections/dlp.py)."""

    permission_classes = [IsOrganizationManager]

    @extend_schema(
        summary="Data protection: detectors and their actions", responses=DataProtectionSerializer
    )
    def get(self, request: Request) -> Response:
        organization = api_caller(request).organization
        return Response(data_protection.settings_of(organization))

    @extend_schema(
        summary="Set data protection (allow, redact or block, per detector and direction)",
        request=DataProtectionSerializer,
        responses=DataProtectionSerializer,
    )
    def put(self, request: Request) -> Response:
        serializer = DataProtectionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        saved = data_protection.set_settings(
            caller=api_caller(request), value=dict(serializer.validated_data), request=request
        )
        return Response(saved)
