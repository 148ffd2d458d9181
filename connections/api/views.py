"""REST API of connections and connected accounts. Thin: parse, call a service, shape."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from connections import audit_log, configuration, oauth, tools
from connections.api import serializers as s
from connections.models import AccountStatus, AuditEvent, AuthorizationRequest, ConnectedAccount
from portal.api.pagination import CursorPagination
from portal.api.permissions import IsApiKeyCaller, IsOrganizationManager, is_api_key_request
from portal.errors import Forbidden, Invalid, NotFound


def caller_identifier(request: Request, requested: str | None) -> str:
    """API keys act for any identifier they name; a browser session only for its own user."""
    if is_api_key_request(request):
        if not requested:
            raise Invalid("identifier is required with an API key.", code="identifier_required")
        return oauth.validate_identifier(requested)
    if requested is not None:
        raise Forbidden(
            "Signed-in users act as themselves; do not send an identifier.",
            code="identifier_not_allowed",
        )
    return request.user.identifier


def _org(request: Request):
    return request._request.organization


class ConnectionListView(generics.ListCreateAPIView):
    permission_classes = [IsOrganizationManager]
    serializer_class = s.ConnectionSerializer
    pagination_class = None

    def get_queryset(self):
        return configuration.Connection.objects.for_org(_org(self.request))

    @extend_schema(summary="List connections", responses=s.ConnectionSerializer(many=True))
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(summary="Create a connection", responses={201: s.ConnectionSerializer})
    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        connection = configuration.create_connection(
            org=_org(request), request=request._request, **serializer.validated_data
        )
        return Response(self.get_serializer(connection).data, status=status.HTTP_201_CREATED)


class ConnectionDetailView(APIView):
    permission_classes = [IsOrganizationManager]

    def _connection(self, request, name):
        return configuration.get_connection(_org(request), name)

    @extend_schema(summary="Get a connection", responses=s.ConnectionSerializer)
    def get(self, request, name):
        connection = self._connection(request, name)
        return Response(s.ConnectionSerializer(connection, context={"request": request}).data)

    @extend_schema(
        summary="Update a connection",
        request=s.ConnectionUpdateSerializer,
        responses=s.ConnectionSerializer,
    )
    def patch(self, request, name):
        connection = self._connection(request, name)
        serializer = s.ConnectionUpdateSerializer(connection, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        configuration.update_connection(
            connection=connection, request=request._request, **serializer.validated_data
        )
        return Response(s.ConnectionSerializer(connection, context={"request": request}).data)

    @extend_schema(summary="Delete a connection and its connected accounts", responses={204: None})
    def delete(self, request, name):
        configuration.delete_connection(
            connection=self._connection(request, name), request=request._request
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


def _accounts(request: Request):
    """Connected accounts the caller may see: all of the org for keys, own for sessions."""
    accounts = ConnectedAccount.objects.for_org(_org(request)).select_related("connection")
    if not is_api_key_request(request):
        accounts = accounts.filter(identifier=request.user.identifier)
    return accounts


class ConnectedAccountListView(generics.ListAPIView):
    serializer_class = s.ConnectedAccountSerializer

    def get_queryset(self):
        accounts = _accounts(self.request)
        params = self.request.query_params
        if params.get("connection_name"):
            accounts = accounts.filter(connection__name=params["connection_name"])
        if params.get("identifier"):
            accounts = accounts.filter(identifier=params["identifier"])
        if params.get("status"):
            if params["status"] not in AccountStatus.values:
                raise Invalid(f"Unknown status {params['status']!r}.", code="invalid_status")
            accounts = accounts.filter(status=params["status"])
        return accounts.order_by("-created_at")

    @extend_schema(
        summary="List connected accounts",
        parameters=[
            OpenApiParameter("connection_name", str),
            OpenApiParameter("identifier", str),
            OpenApiParameter(
                "status", str, enum=["", *AccountStatus.values], description="empty: any"
            ),
        ],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Get or create the connected account of an identifier",
        request=s.ConnectedAccountCreateSerializer,
        responses={200: s.ConnectedAccountSerializer, 201: s.ConnectedAccountSerializer},
    )
    def post(self, request):
        serializer = s.ConnectedAccountCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        identifier = caller_identifier(request, data.get("identifier"))
        connection = configuration.get_connection(_org(request), data["connection_name"])
        account, created = oauth.get_or_create_connected_account(
            org=_org(request),
            connection=connection,
            identifier=identifier,
            request=request._request,
        )
        return Response(
            s.ConnectedAccountSerializer(account).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ConnectedAccountDetailView(APIView):
    def _account(self, request, account_id):
        account = _accounts(request).select_related("organization").filter(pk=account_id).first()
        if account is None:
            raise NotFound("No such connected account.")
        return account

    @extend_schema(summary="Get a connected account", responses=s.ConnectedAccountSerializer)
    def get(self, request, account_id):
        return Response(s.ConnectedAccountSerializer(self._account(request, account_id)).data)

    @extend_schema(
        summary="Disconnect: revoke at the provider and erase the tokens",
        responses=s.ConnectedAccountSerializer,
    )
    def delete(self, request, account_id):
        account = oauth.disconnect(
            account=self._account(request, account_id), request=request._request
        )
        return Response(s.ConnectedAccountSerializer(account).data)


class AuthorizationLinkView(APIView):
    @extend_schema(
        summary="Create an authorization link for an identifier",
        request=s.AuthorizationLinkSerializer,
        responses=s.AuthorizationLinkResponseSerializer,
    )
    def post(self, request):
        serializer = s.AuthorizationLinkSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        identifier = caller_identifier(request, data.get("identifier"))
        connection = configuration.get_connection(
            _org(request), data["connection_name"], enabled_only=True
        )
        account, _ = oauth.get_or_create_connected_account(
            org=_org(request),
            connection=connection,
            identifier=identifier,
            request=request._request,
        )
        is_session = not is_api_key_request(request)
        auth_request = oauth.create_authorization_request(
            account=account,
            flow=AuthorizationRequest.Flow.API,
            user_verify_url=data.get("user_verify_url", ""),
            client_state=data.get("state", ""),
            initiated_by=request.user if is_session else None,
            request=request._request,
        )
        body = {
            "link": oauth.authorization_link(auth_request, request._request),
            "expires_at": auth_request.expires_at,
            "auth_request_id": auth_request.pk,
            "connected_account": s.ConnectedAccountSerializer(account).data,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class VerifyView(APIView):
    permission_classes = [IsApiKeyCaller]

    @extend_schema(
        summary="Confirm the user who completed an authorization (customer verification)",
        request=s.VerifySerializer,
        responses=s.VerifyResponseSerializer,
    )
    def post(self, request):
        serializer = s.VerifySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        account, redirect_url = oauth.verify_authorization(
            org=_org(request),
            auth_request_id=data["auth_request_id"],
            identifier=data["identifier"],
            request=request._request,
        )
        return Response(
            {
                "connected_account": s.ConnectedAccountSerializer(account).data,
                "post_user_verify_redirect_url": redirect_url,
            }
        )


class ToolListView(APIView):
    @extend_schema(
        summary="Tools the identifier's connected accounts may call",
        parameters=[OpenApiParameter("identifier", str), OpenApiParameter("connection_name", str)],
        responses=s.ToolListSerializer,
    )
    def get(self, request):
        identifier = caller_identifier(request, request.query_params.get("identifier"))
        available = tools.list_tools(
            _org(request), identifier, request.query_params.get("connection_name") or None
        )
        return Response({"tools": [tool.as_dict() for tool in available]})


class ToolExecuteView(APIView):
    @extend_schema(
        summary="Run a tool as the identifier's connected account",
        request=s.ExecuteSerializer,
        responses=s.ExecuteResponseSerializer,
    )
    def post(self, request):
        serializer = s.ExecuteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = tools.execute_tool(
            _org(request),
            caller_identifier(request, data.get("identifier")),
            data["tool_name"],
            data.get("params", {}),
            data.get("connection_name"),
            request=request._request,
        )
        return Response(result)


def _audit_events(request: Request):
    django_request = request._request
    return audit_log.visible_events(
        _org(request),
        membership=getattr(django_request, "membership", None),
        user=None if is_api_key_request(request) else request.user,
        api_key=getattr(django_request, "api_key", None),
    )


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


class NewestInChain(CursorPagination):
    ordering = "-seq"  # the organization's chain order: walks the (chain, seq) index


class AuditEventListView(generics.ListAPIView):
    """API keys, owners, admins and auditors: the organization's events; members: their own."""

    serializer_class = s.AuditEventSerializer
    pagination_class = NewestInChain

    def get_queryset(self):
        filters = audit_log.Filters.from_query(self.request.query_params)
        return filters.apply(_audit_events(self.request))

    @extend_schema(summary="List audit events, newest first", parameters=AUDIT_FILTERS)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class AuditEventDetailView(APIView):
    @extend_schema(summary="Get an audit event", responses=s.AuditEventSerializer)
    def get(self, request, event_id: int):
        event = _audit_events(request).filter(pk=event_id).first()
        if event is None:
            raise NotFound("No such event.", code="event_not_found")
        return Response(s.AuditEventSerializer(event).data)
