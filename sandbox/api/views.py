"""REST API of the sandbox: one-click sandbox connections, model scripts, reset."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from connections.api.serializers import ConnectionSerializer
from core.api.pagination import CursorPagination
from core.api.permissions import IsOrganizationManager
from core.errors import NotFound
from portal.requests import api_caller
from sandbox import setup
from sandbox.api import serializers as s
from sandbox.models import ModelScript


class SandboxConnectionView(APIView):
    permission_classes = [IsOrganizationManager]

    @extend_schema(
        summary="Add a sandbox connection of a catalog provider (no client id or secret)",
        request=s.SandboxConnectionRequestSerializer,
        responses={201: ConnectionSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = s.SandboxConnectionRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        connection = setup.add_sandbox_connection(
            caller=api_caller(request),
            provider=serializer.validated_data["provider"],
            request=request,
        )
        return Response(
            ConnectionSerializer(connection, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class Newest(CursorPagination):
    ordering = "-created_at"


class ModelScriptListView(generics.ListCreateAPIView):
    permission_classes = [IsOrganizationManager]
    serializer_class = s.ModelScriptSerializer
    pagination_class = Newest

    def get_queryset(self) -> QuerySet[Any]:
        return ModelScript.objects.for_org(api_caller(self.request).organization)

    @extend_schema(summary="List the sandbox model's scripts")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(summary="Register a script for the sandbox model")
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)

    def perform_create(self, serializer: Any) -> None:
        serializer.save(organization=api_caller(self.request).organization)


class ModelScriptDetailView(APIView):
    permission_classes = [IsOrganizationManager]

    @extend_schema(summary="Delete a sandbox model script", responses={204: None})
    def delete(self, request: Request, script_id: Any) -> Response:
        deleted, _ = (
            ModelScript.objects.for_org(api_caller(request).organization)
            .filter(pk=script_id)
            .delete()
        )
        if not deleted:
            raise NotFound("No such script.")
        return Response(status=status.HTTP_204_NO_CONTENT)


class ResetView(APIView):
    permission_classes = [IsOrganizationManager]

    @extend_schema(
        summary="Reset the organization's sandbox data (sandbox accounts connect again)",
        request=None,
        responses=s.ResetSerializer,
    )
    def post(self, request: Request) -> Response:
        return Response(
            {"worlds": setup.reset_sandbox(caller=api_caller(request), request=request)}
        )
