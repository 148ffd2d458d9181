"""Who is calling /mcp, and the authorizations people give MCP clients.

A request to /mcp carries `Authorization: Bearer …`, either

* an OAuth access token the portal issued (django-oauth-toolkit) *for this resource*
  (its `resource` holds MCP_RESOURCE_URL, RFC 8707): it acts as its user, in the
  organization of the grant it was issued under;
* or an organization's API key with `X-Portal-Identifier` naming whom it acts as (the
  REST API's backend pattern, for headless agents).

Session cookies never authenticate /mcp. The token is never sent upstream: provider
tokens come from the vault when a tool runs. Grants and their tokens: mcpserver/grants.py.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from core.errors import PortalError
from mcpserver import grants
from mcpserver.clients import policy_of
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
    """Valid credentials, but the call cannot go ahead: 403 when the organization does not
    let this client in; a refused identifier answers what REST answers for the same
    mistake (422 missing, 404 not a member)."""

    def __init__(self, message: str, code: str, status: int = 403) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


@dataclass(frozen=True)
class Principal:
    caller: Caller
    client_id: str
    client_name: str
    scopes: frozenset[str]
    # "auto", "all" or "discovery" (connections/discovery.py): chosen at consent.
    tool_mode: str = "auto"
    # Toolsets the caller is limited to: the grant's, and the one the URL names
    # (/mcp/t/<name>); a tool must be in every one of them.
    toolsets: tuple[Any, ...] = ()

    def may(self, scope: str) -> bool:
        return scope in self.scopes

    def limited_to(self, toolset: Any) -> Principal:
        return replace(self, toolsets=(*self.toolsets, toolset))


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
        raise Refused(message, exc.code, exc.status) from None
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
    # The organization is the one of the grant this token was issued under (bound when it
    # was issued), never looked up from the person and the client.
    connection = grants.grant_of(token)
    if connection is None or connection.user_id != token.user_id:
        raise Unauthenticated("This app's access was revoked; sign in again.")
    membership = (
        Membership.objects.for_org(connection.organization)
        .select_related("user", "organization")
        .filter(user=token.user)
        .first()
    )
    if membership is None:
        raise Unauthenticated("You are no longer a member of the organization.")
    application = token.application
    if not policy_of(connection.organization).allows(application.client_id):
        raise Refused("This organization does not let this app connect.", "mcp_client_not_allowed")
    now = timezone.now()
    if connection.last_used_at is None or now - connection.last_used_at > LAST_USED_RESOLUTION:
        McpConnection.objects.filter(pk=connection.pk).update(last_used_at=now)
    return Principal(
        Caller.of_member(membership),
        application.client_id,
        application.name or application.client_id,
        # What the token was issued with, narrowed by what the grant allows now.
        frozenset(token.scope.split()) & frozenset(connection.scopes) & ALL_SCOPES,
        tool_mode=connection.tool_mode,
        toolsets=(connection.toolset,) if connection.toolset_id else (),
    )


# --- Whom a consent may name ------------------------------------------------------------------


def organizations_for_consent(*, user, application: Application) -> list[Membership]:
    """The user's organizations this client may connect to (MCP on, client allowed)."""
    memberships = (
        Membership.objects.filter(user=user)
        .select_related("organization")
        .order_by("organization__name")
    )
    return [m for m in memberships if policy_of(m.organization).allows(application.client_id)]
