"""Who is calling /mcp, and the authorizations people give MCP clients.

A request to /mcp carries `Authorization: Bearer …`, either

* an OAuth access token the portal issued (django-oauth-toolkit) *for this resource*
  (its `resource` holds MCP_RESOURCE_URL, RFC 8707): it acts as its user, in the
  organization chosen on the consent page (the user's McpConnection with that client);
* or an organization's API key with `X-Portal-Identifier` naming whom it acts as (the
  REST API's backend pattern, for headless agents).

Session cookies never authenticate /mcp. The token is never sent upstream: provider
tokens come from the vault when a tool runs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, RefreshToken

from audit import trail
from core.errors import NotFound, PortalError
from core.tenancy import as_uuid
from mcpserver.clients import policy_of, redirect_host
from mcpserver.models import McpConnection
from portal.apikeys import InvalidApiKey, authenticate_api_key
from portal.callers import Caller
from portal.models import Membership

ALL_SCOPES = frozenset(settings.MCP_SCOPES)
LAST_USED_RESOLUTION = timedelta(minutes=1)


class Unauthenticated(Exception):
    """401: no credentials, or ones that are not valid here (the client signs in again)."""

    def __init__(self, message: str, *, error: str = "invalid_token") -> None:
        super().__init__(message)
        self.message = message
        self.error = error


class Refused(Exception):
    """403: valid credentials, but the organization does not let this client in."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Principal:
    caller: Caller
    client_id: str
    client_name: str
    scopes: frozenset[str]

    def may(self, scope: str) -> bool:
        return scope in self.scopes


def authenticate(*, authorization: str, identifier: str | None) -> Principal:
    scheme, _, raw = (authorization or "").partition(" ")
    raw = raw.strip()
    if not authorization:
        raise Unauthenticated("Sign in to use the portal's tools.", error="")
    if scheme.lower() != "bearer" or not raw:
        raise Unauthenticated("Send `Authorization: Bearer <token>`.", error="invalid_request")
    if raw.startswith("ap_"):
        return _api_key_principal(raw, identifier)
    return _token_principal(raw)


def _api_key_principal(raw: str, identifier: str | None) -> Principal:
    try:
        key = authenticate_api_key(raw)
    except InvalidApiKey as exc:
        raise Unauthenticated(str(exc)) from None
    try:
        caller = Caller.of_api_key(key).acting_as(identifier or None)
    except PortalError as exc:
        message = exc.message
        if exc.code == "identifier_required":
            message = "An API key acts for someone: name them in the X-Portal-Identifier header."
        raise Refused(message, exc.code) from None
    if not policy_of(key.organization).enabled:
        raise Refused("MCP is turned off in this organization.", "mcp_disabled")
    return Principal(caller, f"api-key:{key.prefix}", f"API key {key.name}", ALL_SCOPES)


def _token_principal(raw: str) -> Principal:
    checksum = hashlib.sha256(raw.encode()).hexdigest()
    token = (
        AccessToken.objects.select_related("application", "user")
        .filter(token_checksum=checksum)
        .first()
    )
    if token is None or token.is_expired() or token.user is None:
        raise Unauthenticated("The access token is not valid or has expired.")
    if settings.MCP_RESOURCE_URL not in (token.resource or []):
        # RFC 8707: a token issued for another resource (or for none) is not for us.
        raise Unauthenticated("The access token was not issued for this MCP server.")
    application = token.application
    connection = (
        McpConnection.objects.select_related("organization")
        .filter(user=token.user, application=application, revoked_at__isnull=True)
        .first()
    )
    if connection is None:
        raise Unauthenticated("This app's access was revoked; sign in again.")
    membership = (
        Membership.objects.for_org(connection.organization)
        .select_related("user", "organization")
        .filter(user=token.user)
        .first()
    )
    if membership is None:
        raise Unauthenticated("You are no longer a member of the organization.")
    if not policy_of(connection.organization).allows(application.client_id):
        raise Refused("This organization does not let this app connect.", "mcp_client_not_allowed")
    now = timezone.now()
    if connection.last_used_at is None or now - connection.last_used_at > LAST_USED_RESOLUTION:
        McpConnection.objects.filter(pk=connection.pk).update(last_used_at=now)
    return Principal(
        Caller.of_member(membership),
        application.client_id,
        application.name or application.client_id,
        frozenset(token.scope.split()) & ALL_SCOPES,
    )


# --- Authorizations people give ------------------------------------------------------------


def organizations_for_consent(*, user, application: Application) -> list[Membership]:
    """The user's organizations this client may connect to (MCP on, client allowed)."""
    memberships = (
        Membership.objects.filter(user=user)
        .select_related("organization")
        .order_by("organization__name")
    )
    return [m for m in memberships if policy_of(m.organization).allows(application.client_id)]


def record_authorization(
    *,
    user,
    membership: Membership,
    application: Application,
    scopes: list[str],
    request: HttpRequest | None = None,
) -> McpConnection:
    """The person allowed the client (the consent page): remember in which organization."""
    organization = membership.organization
    with transaction.atomic():
        connection, _ = McpConnection.objects.update_or_create(
            user=user,
            application=application,
            defaults={
                "organization": organization,
                "scopes": sorted(scopes),
                "authorized_at": timezone.now(),
                "revoked_at": None,
            },
        )
        trail.record(
            action="mcp.authorized",
            organization=organization,
            caller=Caller.of_member(membership),
            request=request,
            identifier=user.identifier,
            target_type="mcp_client",
            target_id=application.client_id,
            metadata={
                "client": application.name,
                "redirect_host": redirect_host(application),
                "scopes": sorted(scopes),
            },
        )
    return connection


def connections_visible_to(caller: Caller):
    """A member sees the apps they let in; owners and admins see all of the organization's."""
    connections = McpConnection.objects.for_org(caller.organization).select_related(
        "application", "user"
    )
    if caller.can_manage:
        return connections
    if caller.user is None:
        return connections.none()
    return connections.filter(user=caller.user)


def revoke_connection(
    *, caller: Caller, connection_id: Any, request: HttpRequest | None = None
) -> McpConnection:
    """Take an app's access away: every token it holds for that person dies now."""
    key = as_uuid(connection_id)
    connection = connections_visible_to(caller).filter(pk=key).first() if key else None
    if connection is None:
        raise NotFound("No such app.")
    with transaction.atomic():
        revoked = revoke_tokens(user=connection.user, application=connection.application)
        connection.revoked_at = timezone.now()
        connection.save(update_fields=["revoked_at"])
        trail.record(
            action="mcp.token_revoked",
            organization=connection.organization,
            caller=caller,
            request=request,
            identifier=connection.user.identifier,
            target_type="mcp_client",
            target_id=connection.application.client_id,
            metadata={"client": connection.application.name, "tokens": revoked, "how": "portal"},
        )
    return connection


def revoke_tokens(*, user, application: Application) -> int:
    """Revoke every refresh and access token of (user, client); how many there were."""
    count = 0
    for refresh in RefreshToken.objects.filter(
        user=user, application=application, revoked__isnull=True
    ):
        refresh.revoke()
        count += 1
    access = AccessToken.objects.filter(user=user, application=application)
    count += access.count()
    access.delete()
    return count


def connection_of_token(raw: str) -> McpConnection | None:
    """The authorization an access or refresh token belongs to (for revocation audits)."""
    checksum = hashlib.sha256(raw.encode()).hexdigest()
    for model in (AccessToken, RefreshToken):
        token = model.objects.filter(token_checksum=checksum).first()
        if token is not None and token.user_id:
            return (
                McpConnection.objects.select_related("organization", "application", "user")
                .filter(user_id=token.user_id, application_id=token.application_id)
                .first()
            )
    return None
