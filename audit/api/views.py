"""Audit events over the API: the caller's visible events, filtered, newest first."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from audit import review
from audit.api.serializers import AuditEventSerializer
from audit.models import AuditEvent
from core.api.pagination import CursorPagination
from core.errors import NotFound

AUDIT_FILTERS = [
    OpenApiParameter("action", str, description="exact, or a prefix ending in '.' (tool.)"),
    OpenApiParameter("actor", str, description="actor email/label (contains) or id"),
    OpenApiParameter("identifier", str),
    OpenApiParameter("connection_name", str),
    OpenApiParameter(
        "outcome", str, enum=["", *AuditEvent.Outcome.values], description="empty: any"
    ),
    OpenApiParameter("since", str, description="ISO date or date-time"),
    OpenApiParameter("until", str, description="ISO date or date-time"),
    OpenApiParameter("q", str, description="free text over the target"),
]


class NewestFirst(CursorPagination):
    ordering = "-id"  # written order: walks the (organization, -id) index


class AuditEventListView(generics.ListAPIView):
    """API keys, owners, admins and auditors: the organization's events; members: their own."""

    serializer_class = AuditEventSerializer
    pagination_class = NewestFirst

    def get_queryset(self):
        filters = review.Filters.from_query(self.request.query_params)
        return filters.apply(review.visible_events(self.request.caller))

    @extend_schema(summary="List audit events, newest first", parameters=AUDIT_FILTERS)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class AuditEventDetailView(APIView):
    @extend_schema(summary="Get an audit event", responses=AuditEventSerializer)
    def get(self, request, event_id: int):
        event = review.visible_events(request.caller).filter(pk=event_id).first()
        if event is None:
            raise NotFound("No such event.", code="event_not_found")
        return Response(AuditEventSerializer(event).data)
