"""REST API of webhooks. Thin: parse, call webhooks.endpoints, shape."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.lists import ListOfItems
from core.api.pagination import CursorPagination
from core.api.permissions import IsOrganizationManager
from core.errors import NotFound
from portal.requests import api_caller
from webhooks import endpoints, events, selectors
from webhooks.api import serializers as s
from webhooks.filters import DeliveryFilter


class NewestFirst(CursorPagination):
    ordering = "-created_at"


class Managers(APIView):
    permission_classes = [IsOrganizationManager]


def _with_secret(endpoint, secret: str) -> dict:
    endpoint.secret = secret
    return s.EndpointWithSecretSerializer(endpoint).data


class EndpointListView(Managers, generics.ListAPIView):
    serializer_class = s.EndpointSerializer
    pagination_class = NewestFirst

    def get_queryset(self):
        return selectors.endpoints_of(caller=api_caller(self.request))

    @extend_schema(summary="List webhook endpoints")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Add a webhook endpoint (its signing secret is in this answer only)",
        request=s.EndpointSerializer,
        responses={201: s.EndpointWithSecretSerializer},
    )
    def post(self, request):
        serializer = s.EndpointSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint, secret = endpoints.create_endpoint(
            caller=api_caller(request), request=request, **serializer.validated_data
        )
        return Response(_with_secret(endpoint, secret), status=status.HTTP_201_CREATED)


class EndpointDetailView(Managers, APIView):
    @extend_schema(summary="Get a webhook endpoint", responses=s.EndpointSerializer)
    def get(self, request, endpoint_id):
        return Response(
            s.EndpointSerializer(
                selectors.get_endpoint(caller=api_caller(request), endpoint_id=endpoint_id)
            ).data
        )

    @extend_schema(
        summary="Change a webhook endpoint (enabled: true turns a disabled one back on)",
        request=s.EndpointSerializer,
        responses=s.EndpointSerializer,
    )
    def patch(self, request, endpoint_id):
        endpoint = selectors.get_endpoint(caller=api_caller(request), endpoint_id=endpoint_id)
        serializer = s.EndpointSerializer(endpoint, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        endpoint = endpoints.update_endpoint(
            caller=api_caller(request),
            endpoint_id=endpoint.pk,
            request=request,
            **serializer.validated_data,
        )
        return Response(s.EndpointSerializer(endpoint).data)

    @extend_schema(summary="Delete a webhook endpoint and its delivery log", responses={204: None})
    def delete(self, request, endpoint_id):
        endpoints.delete_endpoint(
            caller=api_caller(request), endpoint_id=endpoint_id, request=request
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class RotateSecretView(Managers, APIView):
    @extend_schema(
        summary="Rotate the signing secret (the old one also signs for 24 hours)",
        request=None,
        responses=s.EndpointWithSecretSerializer,
    )
    def post(self, request, endpoint_id):
        endpoint, secret = endpoints.rotate_secret(
            caller=api_caller(request), endpoint_id=endpoint_id, request=request
        )
        return Response(_with_secret(endpoint, secret))


class TestEventView(Managers, APIView):
    @extend_schema(
        summary="Send a webhook.test event to this endpoint",
        request=None,
        responses={202: s.DeliverySerializer},
    )
    def post(self, request, endpoint_id):
        event = endpoints.send_test_event(
            caller=api_caller(request), endpoint_id=endpoint_id, request=request
        )
        delivery = event.deliveries.get()
        delivery.refresh_from_db()
        return Response(s.DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class ReplayFailedView(Managers, APIView):
    @extend_schema(
        summary="Send again every failed delivery of this endpoint since a time",
        request=s.ReplayFailedSerializer,
        responses=s.ReplayedSerializer,
    )
    def post(self, request, endpoint_id):
        endpoint = selectors.get_endpoint(
            caller=api_caller(request), endpoint_id=endpoint_id
        )  # 404 before 400
        serializer = s.ReplayFailedSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        count = endpoints.replay_failed(
            caller=api_caller(request),
            endpoint_id=endpoint.pk,
            since=serializer.validated_data["since"],
            request=request,
        )
        return Response({"replayed": count})


class DeliveryListView(Managers, generics.ListAPIView):
    serializer_class = s.DeliverySerializer
    pagination_class = NewestFirst

    def get_queryset(self):
        params = self.request.query_params
        log = selectors.deliveries_of(caller=api_caller(self.request))
        return DeliveryFilter(params, queryset=log).narrowed

    @extend_schema(
        summary="The delivery log",
        parameters=DeliveryFilter.parameters(),
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class DeliveryDetailView(Managers, APIView):
    @extend_schema(
        summary="One delivery: its payload and every attempt", responses=s.DeliveryDetailSerializer
    )
    def get(self, request, delivery_id):
        delivery = (
            selectors.deliveries_of(caller=api_caller(request))
            .prefetch_related("tries")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            raise NotFound("No such delivery.")
        return Response(s.DeliveryDetailSerializer(delivery).data)


class ReplayDeliveryView(Managers, APIView):
    @extend_schema(summary="Send a delivery again", request=None, responses=s.ReplayedSerializer)
    def post(self, request, delivery_id):
        count = endpoints.replay_delivery(
            caller=api_caller(request), delivery_id=delivery_id, request=request
        )
        return Response({"replayed": count})


class EventTypeListView(Managers, ListOfItems):
    serializer_class = s.EventTypeSerializer

    def items(self) -> list:
        return [
            {
                "type": name,
                "description": kind.description,
                "opt_in": kind.opt_in,
                "schema": events.envelope_schema(name),
            }
            for name, kind in events.EVENT_TYPES.items()
        ]

    @extend_schema(summary="Webhook event types, with each payload's JSON Schema")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
