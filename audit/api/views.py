"""Audit events over the API: the caller's visible events, filtered, newest first."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit import selectors
from audit.api.serializers import AuditEventSerializer
from audit.filters import AuditEventFilter
from core.api.pagination import CursorPagination
from core.errors import NotFound
from core.requests import caller_of


class NewestFirst(CursorPagination):
    ordering = "-id"  # written order: walks the (organization, -id) index


class AuditEventListView(generics.ListAPIView):
    """API keys, owners, admins and auditors: the organization's events; members: their own."""

    serializer_class = AuditEventSerializer
    pagination_class = NewestFirst

    def get_queryset(self) -> QuerySet[Any]:
        visible = selectors.visible_events(caller=caller_of(self.request))
        return AuditEventFilter(self.request.query_params, queryset=visible).narrowed

    @extend_schema(
        summary="List audit events, newest first", parameters=AuditEventFilter.parameters()
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class AuditEventDetailView(APIView):
    @extend_schema(summary="Get an audit event", responses=AuditEventSerializer)
    def get(self, request: Request, event_id: int) -> Response:
        event = selectors.event_for(caller=caller_of(request), event_id=event_id)
        if event is None:
            raise NotFound("No such event.", code="event_not_found")
        return Response(AuditEventSerializer(event).data)
