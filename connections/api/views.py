"""REST API of providers, connections, connected accounts, tools and the proxy.

Thin: parse, ask the request's Caller who acts, call one service, shape the answer.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from connections import (
    accounts,
    authorization,
    configuration,
    discovery,
    proxy,
    selectors,
    setup_guide,
    tools,
    verification,
)
from connections.api import serializers as s
from connections.filters import ConnectedAccountFilter
from connections.models import AuthorizationRequest, ConnectedAccount
from core.api.lists import ListOfItems
from core.api.pagination import CursorPagination
from core.api.permissions import IsApiKeyCaller, IsOrganizationManager
from core.errors import Invalid, NotFound
from portal.requests import api_caller


class ProviderListView(ListOfItems):
    serializer_class = s.ProviderSerializer

    def items(self) -> list:
        return setup_guide.providers_for_setup(request=self.request)

    @extend_schema(
        summary="The provider catalog: tools, scopes, settings and the redirect URI to register"
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class ByName(CursorPagination):
    ordering = "name"


class ConnectionListView(generics.ListCreateAPIView):
    permission_classes = [IsOrganizationManager]
    serializer_class = s.ConnectionSerializer
    pagination_class = ByName

    def get_queryset(self) -> QuerySet[Any]:
        return selectors.connections_of(organization=api_caller(self.request).organization)

    @extend_schema(summary="List connections")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(summary="Create a connection", responses={201: s.ConnectionSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        connection = configuration.create_connection(
            org=api_caller(request).organization,
            caller=api_caller(request),
            request=request,
            **serializer.validated_data,
        )
        return Response(self.get_serializer(connection).data, status=status.HTTP_201_CREATED)


class ConnectionDetailView(APIView):
    permission_classes = [IsOrganizationManager]

    def _connection(self, request: Request, name: Any) -> Any:
        return configuration.get_connection(api_caller(request).organization, name)

    @extend_schema(summary="Get a connection", responses=s.ConnectionSerializer)
    def get(self, request: Request, name: Any) -> Response:
        connection = self._connection(request, name)
        return Response(s.ConnectionSerializer(connection, context={"request": request}).data)

    @extend_schema(
        summary="Update a connection",
        request=s.ConnectionUpdateSerializer,
        responses=s.ConnectionSerializer,
    )
    def patch(self, request: Request, name: Any) -> Response:
        connection = self._connection(request, name)
        serializer = s.ConnectionUpdateSerializer(connection, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        configuration.update_connection(
            connection=connection,
            caller=api_caller(request),
            request=request,
            **serializer.validated_data,
        )
        return Response(s.ConnectionSerializer(connection, context={"request": request}).data)

    @extend_schema(
        summary="Delete a connection: revoke its accounts' tokens, then delete them",
        responses={204: None},
    )
    def delete(self, request: Request, name: Any) -> Response:
        configuration.delete_connection(
            connection=self._connection(request, name), caller=api_caller(request), request=request
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class ConnectedAccountListView(generics.ListAPIView):
    serializer_class = s.ConnectedAccountSerializer

    def get_queryset(self) -> QuerySet[Any]:
        visible = selectors.accounts_visible_to(caller=api_caller(self.request))
        filters = ConnectedAccountFilter(self.request.query_params, queryset=visible)
        return filters.narrowed.order_by("-created_at")

    @extend_schema(
        summary="List connected accounts",
        parameters=ConnectedAccountFilter.parameters(),
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Get or create the connected account of an identifier",
        request=s.ConnectedAccountCreateSerializer,
        responses={200: s.ConnectedAccountSerializer, 201: s.ConnectedAccountSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = s.ConnectedAccountCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        caller = api_caller(request).acting_as(data.get("identifier"))
        connection = configuration.get_connection(caller.organization, data["connection_name"])
        account, created = accounts.get_or_create_connected_account(
            organization=caller.organization,
            connection=connection,
            identifier=caller.identifier,
            request=request,
        )
        return Response(
            s.ConnectedAccountSerializer(account).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


def _account(request: Request, account_id: Any) -> ConnectedAccount:
    account = selectors.account_for(caller=api_caller(request), account_id=account_id)
    if account is None:
        raise NotFound("No such connected account.")
    return account


class ConnectedAccountDetailView(APIView):
    @extend_schema(summary="Get a connected account", responses=s.ConnectedAccountSerializer)
    def get(self, request: Request, account_id: Any) -> Response:
        return Response(s.ConnectedAccountSerializer(_account(request, account_id)).data)

    @extend_schema(
        summary="Disconnect: revoke at the provider and erase the tokens",
        responses=s.ConnectedAccountSerializer,
    )
    def delete(self, request: Request, account_id: Any) -> Response:
        account = accounts.disconnect(account=_account(request, account_id), request=request)
        return Response(s.ConnectedAccountSerializer(account).data)


class DefaultAccountView(APIView):
    @extend_schema(
        summary="Make this the account tool calls use by default (of its identifier, on its "
        "connection)",
        request=None,
        responses=s.ConnectedAccountSerializer,
    )
    def post(self, request: Request, account_id: Any) -> Response:
        account = _account(request, account_id)
        accounts.set_default(account=account, request=request)
        return Response(s.ConnectedAccountSerializer(account).data)


class AuthorizationLinkView(APIView):
    @extend_schema(
        summary="Create an authorization link for an identifier",
        request=s.AuthorizationLinkSerializer,
        responses=s.AuthorizationLinkResponseSerializer,
    )
    def post(self, request: Request) -> Response:
        serializer = s.AuthorizationLinkSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        caller = api_caller(request).acting_as(data.get("identifier"))
        connection = configuration.get_connection(
            caller.organization, data["connection_name"], enabled_only=True
        )
        auth_request = authorization.start_authorization(
            caller=caller,
            connection=connection,
            flow=AuthorizationRequest.Flow.API
            if caller.is_api_key
            else AuthorizationRequest.Flow.PORTAL,
            user_verify_url=data.get("user_verify_url", ""),
            client_state=data.get("state", ""),
            add_account=data.get("add_account", False),
            request=request,
        )
        body = {
            "link": authorization.authorization_link(auth_request, request),
            "expires_at": auth_request.expires_at,
            "auth_request_id": auth_request.pk,
            "connected_account": s.ConnectedAccountSerializer(auth_request.account).data,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class VerifyView(APIView):
    permission_classes = [IsApiKeyCaller]

    @extend_schema(
        summary="Confirm the user who completed an authorization (customer verification)",
        request=s.VerifySerializer,
        responses=s.VerifyResponseSerializer,
    )
    def post(self, request: Request) -> Response:
        serializer = s.VerifySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        account, redirect_url = verification.verify_authorization(
            caller=api_caller(request),
            auth_request_id=data["auth_request_id"],
            identifier=data["identifier"],
            request=request,
        )
        return Response(
            {
                "connected_account": s.ConnectedAccountSerializer(account).data,
                "post_user_verify_redirect_url": redirect_url,
            }
        )


class ToolListView(ListOfItems):
    serializer_class = s.ToolSerializer

    def items(self) -> list:
        params = self.request.query_params
        caller = api_caller(self.request).acting_as(params.get("identifier"))
        available = tools.list_tools(
            caller=caller, connection_name=params.get("connection_name") or None
        )
        return [tool.as_dict() for tool in available]

    @extend_schema(
        summary="Tools the identifier's connected accounts may call",
        parameters=[OpenApiParameter("identifier", str), OpenApiParameter("connection_name", str)],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


# How many matches a search ranks; `limit` (the page size) takes the best of them.
SEARCH_DEPTH = 50


class ToolSearchView(ListOfItems):
    serializer_class = s.ToolSearchResultSerializer

    def items(self) -> list:
        params = self.request.query_params
        query = (params.get("q") or "").strip()
        if not query:
            raise Invalid(
                "Say what you want to do in q, e.g. q=create an issue.", code="q_required"
            )
        caller = api_caller(self.request)
        if params.get("scope") == "catalog":
            caller.require_manager()
            return discovery.search_catalog(query, SEARCH_DEPTH)
        if params.get("scope") not in (None, "", "available"):
            raise Invalid("scope is available (default) or catalog.", code="invalid_scope")
        caller = caller.acting_as(params.get("identifier"))
        available = {entry.name: entry for entry in tools.list_tools(caller=caller)}
        found = discovery.search(available, query, limit=SEARCH_DEPTH)["results"]
        return [{k: v for k, v in item.items() if k != "input_schema"} for item in found]

    @extend_schema(
        summary="Find tools by what you want to do, best first",
        parameters=[
            OpenApiParameter("q", str, required=True, description="What you want to do."),
            OpenApiParameter(
                "scope",
                str,
                enum=["available", "catalog"],
                description="available: the identifier's tools (default); catalog: every "
                "tool, connected or not (owners, admins and API keys).",
            ),
            OpenApiParameter("identifier", str),
        ],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class ToolExecuteView(APIView):
    @extend_schema(
        summary="Run a tool as the identifier's connected account",
        request=s.ExecuteSerializer,
        responses=s.ExecuteResponseSerializer,
    )
    def post(self, request: Request) -> Response:
        serializer = s.ExecuteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = tools.execute_tool(
            caller=api_caller(request).acting_as(data.get("identifier")),
            tool_name=data["tool_name"],
            params=data.get("params", {}),
            connection_name=data.get("connection_name"),
            account_id=data.get("account_id"),
            request=request,
        )
        return Response(result)


class ProxyView(APIView):
    @extend_schema(
        summary="Call the provider's API as the identifier's account (paths under the "
        "connection's API base)",
        request=s.ProxySerializer,
        responses=s.ProxyResponseSerializer,
    )
    def post(self, request: Request) -> Response:
        serializer = s.ProxySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = proxy.proxy_request(
            caller=api_caller(request).acting_as(data.get("identifier")),
            connection_name=data["connection_name"],
            method=data["method"],
            path=data["path"],
            query=data.get("query"),
            headers=data.get("headers"),
            body=data.get("body"),
            account_id=data.get("account_id"),
            request=request,
        )
        return Response(result)
