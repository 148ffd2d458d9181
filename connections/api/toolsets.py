"""REST API of toolsets: every caller reads them; owners, admins and API keys change them."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from connections import toolsets
from connections.api.serializers import ToolsetSerializer
from core.api.pagination import CursorPagination
from core.api.permissions import IsOrganizationCaller, IsOrganizationManager
from portal.requests import api_caller


class ByName(CursorPagination):
    ordering = "name"


class ChangesForManagers(IsOrganizationManager):
    """Reads for every caller, changes for owners, admins and API keys."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return IsOrganizationCaller().has_permission(request, view)
        return super().has_permission(request, view)


class ToolsetListView(generics.ListCreateAPIView):
    permission_classes = [ChangesForManagers]
    serializer_class = ToolsetSerializer
    pagination_class = ByName

    def get_queryset(self) -> QuerySet[Any]:
        return toolsets.toolsets_of(organization=api_caller(self.request).organization)

    @extend_schema(summary="List toolsets")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(summary="Create a toolset", responses={201: ToolsetSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        toolset = toolsets.create_toolset(
            caller=api_caller(request), request=request, **serializer.validated_data
        )
        return Response(ToolsetSerializer(toolset).data, status=status.HTTP_201_CREATED)


class ToolsetDetailView(APIView):
    permission_classes = [ChangesForManagers]

    def _toolset(self, request: Request, toolset: Any) -> Any:
        return toolsets.get_toolset(organization=api_caller(request).organization, name=toolset)

    @extend_schema(summary="Get a toolset", responses=ToolsetSerializer)
    def get(self, request: Request, toolset: Any) -> Response:
        return Response(ToolsetSerializer(self._toolset(request, toolset)).data)

    @extend_schema(
        summary="Update a toolset", request=ToolsetSerializer, responses=ToolsetSerializer
    )
    def patch(self, request: Request, toolset: Any) -> Response:
        found = self._toolset(request, toolset)
        serializer = ToolsetSerializer(found, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        toolsets.update_toolset(
            caller=api_caller(request),
            toolset=found,
            request=request,
            **serializer.validated_data,
        )
        return Response(ToolsetSerializer(found).data)

    @extend_schema(
        summary="Delete a toolset (refused while an agent or an MCP app uses it)",
        responses={204: None},
    )
    def delete(self, request: Request, toolset: Any) -> Response:
        toolsets.delete_toolset(
            caller=api_caller(request), toolset=self._toolset(request, toolset), request=request
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
