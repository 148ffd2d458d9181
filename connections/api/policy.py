"""REST API of the organization's policy rules (owners, admins and API keys)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from connections import budgets, data_protection, policy, policy_hook
from connections.api.serializers import (
    BudgetSerializer,
    DataProtectionSerializer,
    PolicyHookSerializer,
    PolicyRuleSerializer,
)
from core.api.pagination import CursorPagination
from core.api.permissions import IsOrganizationManager
from portal.requests import api_caller


class InOrder(CursorPagination):
    ordering = "position"  # ties keep their place: DRF's cursor counts an offset


class ByCreation(CursorPagination):
    ordering = "created_at"


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


class BudgetListView(generics.ListCreateAPIView):
    permission_classes = [IsOrganizationManager]
    serializer_class = BudgetSerializer
    pagination_class = ByCreation

    def get_queryset(self) -> QuerySet[Any]:
        return budgets.budgets_of(api_caller(self.request).organization)

    @extend_schema(summary="List budgets")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Set a budget (replaces the one with the same scope, subject, metric and period)",
        responses={201: BudgetSerializer},
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        budget = budgets.create_budget(
            caller=api_caller(request), request=request, **serializer.validated_data
        )
        return Response(BudgetSerializer(budget).data, status=status.HTTP_201_CREATED)


class BudgetDetailView(APIView):
    permission_classes = [IsOrganizationManager]

    def _budget(self, request: Request, budget_id: Any) -> Any:
        organization = api_caller(request).organization
        return budgets.get_budget(organization=organization, budget_id=budget_id)

    @extend_schema(summary="Get a budget", responses=BudgetSerializer)
    def get(self, request: Request, budget_id: Any) -> Response:
        return Response(BudgetSerializer(self._budget(request, budget_id)).data)

    @extend_schema(summary="Delete a budget", responses={204: None})
    def delete(self, request: Request, budget_id: Any) -> Response:
        budget = self._budget(request, budget_id)
        budgets.delete_budget(caller=api_caller(request), budget=budget, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _hook_answer(hook: Any, secret: str | None = None) -> dict[str, Any]:
    answer = {
        "id": str(hook.pk),
        "url": hook.url,
        "fail_open": hook.fail_open,
        "enabled": hook.enabled,
        "created_at": hook.created_at.isoformat(),
        "updated_at": hook.updated_at.isoformat(),
    }
    return {**answer, "secret": secret} if secret else answer


class PolicyHookView(APIView):
    """The organization's pre-execution hook: one per organization."""

    permission_classes = [IsOrganizationManager]

    @extend_schema(summary="The policy hook", responses=PolicyHookSerializer)
    def get(self, request: Request) -> Response:
        hook = policy_hook.get_hook(api_caller(request).organization)
        return Response(_hook_answer(hook))

    @extend_schema(
        summary="Set the policy hook (its signing secret is answered once: on creation or "
        "rotation)",
        request=PolicyHookSerializer,
        responses=PolicyHookSerializer,
    )
    def put(self, request: Request) -> Response:
        serializer = PolicyHookSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        hook, secret = policy_hook.set_hook(
            caller=api_caller(request),
            url=values["url"],
            fail_open=values.get("fail_open", False),
            enabled=values.get("enabled", True),
            rotate_secret=values.get("rotate_secret", False),
            request=request,
        )
        response = Response(_hook_answer(hook, secret))
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(summary="Remove the policy hook", responses={204: None})
    def delete(self, request: Request) -> Response:
        policy_hook.delete_hook(caller=api_caller(request), request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)
