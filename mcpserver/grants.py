"""MCP grants: what a person let an MCP client do, in which organization, and the tokens
issued under it (DESIGN §13 rule 23: every grant is bound to one organization when issued).

A grant (`McpConnection`) is one person's consent to one client **in one organization**:
consenting to the same client in another organization makes another grant, with its own
scopes. The consent page records the grant and puts its id on the authorization code
(`code_claims`); the code's exchange binds the token family it starts to that grant
(`bind_new_tokens`); refreshes stay in the family (django-oauth-toolkit's
`token_family`). So an access token finds its organization through the grant it was
issued under, never by looking up the person and the client later.

Revoking a grant (the person, an admin, the member's removal) revokes every token of its
families; a replayed authorization code revokes the family its first use started.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, RefreshToken
from oauthlib.oauth2.rfc6749 import errors

from audit import trail
from core.errors import NotFound
from core.tenancy import as_uuid
from mcpserver.clients import redirect_host
from mcpserver.models import McpApproval, McpConnection, McpTokenFamily
from portal.callers import Caller
from portal.models import Membership

CLAIM = "mcp_grant"  # the key the grant's id travels under on an authorization code


def record_authorization(
    *,
    user: Any,
    membership: Membership,
    application: Application,
    scopes: list[str],
    tool_mode: str = "auto",
    toolset: Any = None,
    request: HttpRequest | None = None,
) -> McpConnection:
    """The person allowed the client in `membership`'s organization (the consent page).
    Consenting again in the same organization replaces that grant's scopes, for every
    token issued under it; another organization gets a grant of its own."""
    organization = membership.organization
    with transaction.atomic():
        connection, _ = McpConnection.objects.update_or_create(
            organization=organization,
            user=user,
            application=application,
            defaults={
                "scopes": sorted(scopes),
                "tool_mode": tool_mode,
                "toolset": toolset,
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
                "tool_mode": tool_mode,
                "toolset": toolset.name if toolset is not None else None,
            },
        )
    return connection


def code_claims(connection: McpConnection) -> dict[str, str]:
    """What the authorization code carries: the grant it was issued under."""
    return {CLAIM: str(connection.pk)}


def _checksum(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def bind_new_tokens(
    *, claims: dict[str, Any], refresh_token: str, code_hash: str, request: Any
) -> McpTokenFamily:
    """The code was exchanged: bind the token family it started to the grant named on the
    code. Without a live grant of this person and client, no token is issued (the caller
    runs inside the token transaction: raising rolls the new tokens back)."""
    key = as_uuid(claims.get(CLAIM)) if isinstance(claims, dict) else None
    connection = (
        McpConnection.objects.filter(
            pk=key, user=request.user, application=request.client, revoked_at__isnull=True
        ).first()
        if key
        else None
    )
    issued = RefreshToken.objects.filter(token_checksum=_checksum(refresh_token)).first()
    if connection is None or issued is None:
        raise errors.InvalidGrantError(request=request)
    return McpTokenFamily.objects.create(
        organization_id=connection.organization_id,
        connection=connection,
        family=issued.token_family,
        code_hash=code_hash,
    )


def bind_assertion_token(
    *, assertion: Any, application: Application, access_token: str, scopes: list[str]
) -> McpConnection:
    """An identity assertion (ID-JAG) got an access token: record the grant in the
    assertion's organization — the identity provider's decision, no consent screen — and
    bind the token to it (the caller runs inside the token transaction)."""
    membership = assertion.membership
    organization = membership.organization
    connection, _ = McpConnection.objects.update_or_create(
        organization=organization,
        user=membership.user,
        application=application,
        defaults={"scopes": sorted(scopes), "authorized_at": timezone.now(), "revoked_at": None},
    )
    issued = AccessToken.objects.get(token_checksum=_checksum(access_token))
    McpTokenFamily.objects.create(
        organization=organization,
        connection=connection,
        family=uuid.uuid4(),
        access_token=issued,
    )
    trail.record(
        action="mcp.authorized",
        organization=organization,
        actor=trail.Actor.system(f"identity provider {assertion.issuer.issuer}"[:100]),
        identifier=membership.user.identifier,
        target_type="mcp_client",
        target_id=application.client_id,
        metadata={
            "client": application.name,
            "how": "id_jag",
            "issuer": assertion.issuer.issuer,
            "subject": assertion.subject,
            "scopes": sorted(scopes),
        },
    )
    return connection


def check_refresh(*, family: Any, request: Any) -> None:
    """A refresh continues a family only while its grant stands and its person is still
    a member of the grant's organization."""
    binding = (
        McpTokenFamily.objects.select_related("connection")
        .filter(family=family, connection__revoked_at__isnull=True)
        .first()
        if family
        else None
    )
    if (
        binding is None
        or binding.connection.user_id != getattr(request.user, "pk", None)
        or not Membership.objects.for_org(binding.organization_id)
        .filter(user_id=binding.connection.user_id)
        .exists()
    ):
        raise errors.InvalidGrantError(request=request)


def grant_of(token: AccessToken) -> McpConnection | None:
    """The live grant an access token was issued under (one query), or None."""
    families = RefreshToken.objects.filter(
        Q(access_token_id=token.pk) | Q(pk=token.source_refresh_token_id)
    ).values("token_family")
    binding = (
        McpTokenFamily.objects.select_related("connection__organization", "connection__toolset")
        .filter(Q(family__in=families) | Q(access_token_id=token.pk))
        .filter(connection__revoked_at__isnull=True)
        .first()
    )
    return binding.connection if binding is not None else None


def revoke_replayed_code(code_hash: str) -> None:
    """RFC 6749 §4.1.2: a code used twice revokes the tokens its first use obtained."""
    binding = (
        McpTokenFamily.objects.select_related("connection__application", "connection__user")
        .filter(code_hash=code_hash)
        .first()
    )
    if binding is None:
        return
    RefreshToken.revoke_family(binding.family)
    connection = binding.connection
    trail.record(
        action="mcp.code_replayed",
        organization=connection.organization,
        actor=trail.Actor.system("MCP authorization server"),
        identifier=connection.user.identifier,
        target_type="mcp_client",
        target_id=connection.application.client_id[:255],
        outcome="denied",
        metadata={"client": connection.application.name, "tokens": "revoked"},
    )


# --- Seeing and revoking grants --------------------------------------------------------------


def connections_visible_to(caller: Caller):
    """A member sees the apps they let in; owners and admins see all of the organization's."""
    connections = McpConnection.objects.for_org(caller.organization).select_related(
        "application", "user", "toolset"
    )
    if caller.can_manage:
        return connections
    if caller.user is None:
        return connections.none()
    return connections.filter(user=caller.user)


def revoke_tokens(connection: McpConnection) -> int:
    """Revoke every token issued under this grant (and only this grant); how many families."""
    bindings = list(
        McpTokenFamily.objects.filter(connection=connection).values_list(
            "family", "access_token_id"
        )
    )
    for family, _ in bindings:
        RefreshToken.revoke_family(family)
    AccessToken.objects.filter(pk__in=[token for _, token in bindings if token]).delete()
    return len(bindings)


def revoke_connection(
    *, caller: Caller, connection_id: Any, request: HttpRequest | None = None
) -> McpConnection:
    """Take an app's access away: every token it holds for that person dies now."""
    key = as_uuid(connection_id)
    connection = connections_visible_to(caller).filter(pk=key).first() if key else None
    if connection is None:
        raise NotFound("No such app.")
    _revoke(connection, actor=trail.Actor.of(caller), how="portal", request=request)
    return connection


def _revoke(
    connection: McpConnection, *, actor: trail.Actor, how: str, request: HttpRequest | None
) -> None:
    with transaction.atomic():
        revoked = revoke_tokens(connection)
        McpConnection.objects.filter(pk=connection.pk).update(revoked_at=timezone.now())
        trail.record(
            action="mcp.token_revoked",
            organization=connection.organization,
            actor=actor,
            request=request,
            identifier=connection.user.identifier,
            target_type="mcp_client",
            target_id=connection.application.client_id,
            metadata={"client": connection.application.name, "tokens": revoked, "how": how},
        )


def connection_of_token(raw: str) -> McpConnection | None:
    """The grant an access or refresh token belongs to (for revocation audits)."""
    checksum = _checksum(raw)
    access = AccessToken.objects.filter(token_checksum=checksum).first()
    if access is not None:
        return grant_of(access)
    refresh = RefreshToken.objects.filter(token_checksum=checksum).first()
    if refresh is None:
        return None
    binding = (
        McpTokenFamily.objects.select_related("connection__organization", "connection__toolset")
        .filter(family=refresh.token_family)
        .first()
    )
    return binding.connection if binding is not None else None


def revoke_member_grants(*, organization: Any, user: Any, caller: Caller) -> int:
    """A member left: every grant they hold in that organization is revoked with its
    tokens, and their pending approvals there are declined (DESIGN §13 rule 28)."""
    held = (
        McpConnection.objects.for_org(organization)
        .filter(user=user, revoked_at__isnull=True)
        .select_related("application", "user", "organization")
    )
    count = 0
    for connection in held:
        _revoke(connection, actor=trail.Actor.of(caller), how="member_removed", request=None)
        count += 1
    McpApproval.objects.for_org(organization).filter(
        Q(user=user) | Q(identifier=user.identifier), status=McpApproval.Status.PENDING
    ).update(status=McpApproval.Status.DECLINED, decided_at=timezone.now())
    return count
