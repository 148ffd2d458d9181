"""Authorization links: the URLs, starting an authorization (the connect page and the
authorization-link API), reconnect links and the provider's authorization URL (DESIGN §4
flow 2). The callback is callback.py, customer verification verification.py, and the
cleanup of authorizations nobody finished cleanup.py.

The identifier binding rule (§12 rule 18): an identifier of the portal-user shape
(`user_<hex>`) is bound only by a callback that the signed-in user it names
completes, as a current member; the backend flow (`user_verify_url` + /verify) is
for the company's own identifiers, and only API keys may name a `user_verify_url`.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from audit import trail
from connections import accounts, oauth_client
from connections.errors import (
    AuthorizationFailed,
)
from connections.models import AuthorizationRequest, ConnectedAccount
from core.errors import Conflict, Forbidden, Invalid
from portal.callers import Caller
from portal.identifiers import is_portal_identifier

AUTH_REQUEST_TTL = timedelta(minutes=10)


# --- URLs -------------------------------------------------------------------------------


def portal_url(path: str, request: HttpRequest | None = None) -> str:
    """An absolute portal URL: PORTAL_BASE_URL, else the request's own host. Never a
    guessed host: without either, links cannot be made (settings refuse to start without
    PORTAL_BASE_URL when DEBUG is off)."""
    if settings.PORTAL_BASE_URL:
        return settings.PORTAL_BASE_URL + path
    if request is not None:
        return request.build_absolute_uri(path)
    raise ImproperlyConfigured(
        "PORTAL_BASE_URL is not set: links made outside a request (background work) "
        "need the portal's public URL."
    )


def provider_redirect_uri(provider_key: str, request: HttpRequest | None = None) -> str:
    """The exact redirect URI to register at the provider: one path per provider (mix-up defense)."""
    return portal_url(reverse("oauth_callback", args=[provider_key]), request)


def redirect_uri_for(connection: Any, request: HttpRequest | None = None) -> str:
    return provider_redirect_uri(connection.provider, request)


def validate_return_url(url: str, *, field: str) -> str:
    """A URL the person's browser is sent to (the customer's verify page): absolute,
    https unless it is a loopback host (a backend in development)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(f"{field} must be an absolute https URL.", code="invalid_url")
    loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if parts.scheme == "http" and not loopback:
        raise Invalid(f"{field} must use https.", code="insecure_url", details={"field": field})
    return url


# --- Starting ---------------------------------------------------------------------------


def check_link_request(
    *,
    connection: Any,
    identifier: str,
    caller: Caller | None = None,
    flow: str = AuthorizationRequest.Flow.PORTAL,
    user_verify_url: str = "",
) -> None:
    """Whether an authorization may start at all — checked before anything is written."""
    if caller is not None:
        caller.check_may_use(connection)
    if not connection.enabled:
        raise Conflict(f"The {connection.name} connection is disabled.", code="connection_disabled")
    portal_identifier = is_portal_identifier(identifier)
    if user_verify_url:
        if caller is None or not caller.is_api_key:
            raise Forbidden(
                "Only an API key may name a user_verify_url; signed-in people connect "
                "their own accounts and come back to the portal.",
                code="user_verify_url_not_allowed",
            )
        if portal_identifier:
            raise Invalid(
                f"{identifier!r} is a portal user's identifier: only that user, "
                "signed in, can authorize it. Send the link without user_verify_url.",
                code="portal_identifier",
            )
        validate_return_url(user_verify_url, field="user_verify_url")
    elif flow == AuthorizationRequest.Flow.API and not portal_identifier:
        raise Invalid(
            f"{identifier!r} is not a portal user, so the portal cannot check who "
            "completes the authorization: pass user_verify_url and confirm the user with "
            "/api/v1/connected-accounts/verify.",
            code="user_verify_url_required",
        )


def start_authorization(
    *,
    caller: Caller,
    connection: Any,
    account: ConnectedAccount | None = None,
    flow: str = AuthorizationRequest.Flow.PORTAL,
    user_verify_url: str = "",
    client_state: str = "",
    add_account: bool = False,
    request: HttpRequest | None = None,
) -> AuthorizationRequest:
    """Connect (or reconnect) the caller's identifier: the connect page and the
    authorization-link API. A refused request changes nothing (DESIGN §13 rule 26): every
    check runs before the first write, and the account and the request are written in one
    transaction, with their audit events and webhooks."""
    check_link_request(
        connection=connection,
        identifier=caller.identifier,
        caller=caller,
        flow=flow,
        user_verify_url=user_verify_url,
    )
    with transaction.atomic():
        if account is None:
            account, _ = accounts.get_or_create_connected_account(
                organization=caller.organization,
                connection=connection,
                identifier=caller.identifier,
                request=request,
            )
        return create_authorization_request(
            account=account,
            caller=caller,
            flow=flow,
            user_verify_url=user_verify_url,
            client_state=client_state,
            initiated_by=caller.user,
            add_account=add_account,
            request=request,
        )


def create_authorization_request(
    *,
    account: ConnectedAccount,
    caller: Caller | None = None,
    flow: str = AuthorizationRequest.Flow.PORTAL,
    user_verify_url: str = "",
    client_state: str = "",
    initiated_by: Any = None,
    add_account: bool = False,
    extra_scopes: tuple[str, ...] = (),
    request: HttpRequest | None = None,
) -> AuthorizationRequest:
    connection = account.connection
    check_link_request(
        connection=connection,
        identifier=account.identifier,
        caller=caller,
        flow=flow,
        user_verify_url=user_verify_url,
    )
    spec = connection.provider_spec
    scopes = sorted({*(connection.scopes or spec.default_scopes), *extra_scopes})
    auth_request = AuthorizationRequest(
        organization=account.organization,
        connection=connection,
        account=account,
        identifier=account.identifier,
        state=secrets.token_urlsafe(32),
        flow=flow,
        provider=connection.provider,
        authorization_url=connection.endpoint("authorization_url")[:500],
        redirect_uri=redirect_uri_for(connection, request),
        user_verify_url=user_verify_url,
        client_state=client_state[:500],
        initiated_by=initiated_by,
        requested_scopes=scopes,
        add_account=add_account,
        expires_at=timezone.now() + AUTH_REQUEST_TTL,
    )
    if spec.oauth.pkce != "off":
        # RFC 7636: 43–128 characters; 64 random bytes in base64url give 86.
        auth_request.set_secret("code_verifier_sealed", secrets.token_urlsafe(64))
    with transaction.atomic():
        auth_request.save(force_insert=True)
        trail.record(
            action="oauth.authorization_started",
            organization=account.organization,
            caller=caller,
            request=request,
            identifier=account.identifier,
            target_type="connected_account",
            target_id=account.pk,
            metadata={
                "connection": connection.name,
                "flow": flow,
                "auth_request_id": str(auth_request.pk),
                "user_verify": bool(user_verify_url),
                "add_account": add_account,
                "extra_scopes": list(extra_scopes),
            },
        )
    return auth_request


def authorization_link(
    auth_request: AuthorizationRequest, request: HttpRequest | None = None
) -> str:
    """The portal URL to hand to the person; it redirects to the provider."""
    return portal_url(reverse("oauth_authorize", args=[auth_request.pk]), request)


def reconnect_link(
    *,
    account: ConnectedAccount,
    extra_scopes: tuple[str, ...] = (),
    request: HttpRequest | None = None,
) -> str | None:
    """A link for the account's owner to authorize it again, or None when its identifier
    is not a portal user (their backend starts that flow). Reuses a pending request with
    the same scopes instead of inserting one on every failed call."""
    if not is_portal_identifier(account.identifier) or not account.connection.enabled:
        return None
    scopes = sorted(
        {
            *(account.connection.scopes or account.connection.provider_spec.default_scopes),
            *extra_scopes,
        }
    )
    reusable = (
        AuthorizationRequest.objects.for_org(account.organization)
        .filter(
            account=account,
            flow=AuthorizationRequest.Flow.PORTAL,
            status=AuthorizationRequest.Status.PENDING,
            used_at__isnull=True,
            user_verify_url="",
            add_account=False,
            expires_at__gt=timezone.now() + timedelta(minutes=2),
        )
        .order_by("-expires_at")
        .first()
    )
    if reusable is None or sorted(reusable.requested_scopes) != scopes:
        reusable = create_authorization_request(
            account=account, extra_scopes=extra_scopes, request=request
        )
    return authorization_link(reusable, request)


def provider_authorization_url(auth_request: AuthorizationRequest) -> str:
    """The provider's authorization URL for a pending request (state + PKCE challenge)."""
    if (
        auth_request.used_at is not None
        or auth_request.status != AuthorizationRequest.Status.PENDING
    ):
        raise AuthorizationFailed("This authorization link was already used. Start again.")
    if auth_request.is_expired:
        raise AuthorizationFailed("This authorization link has expired. Start again.")
    connection = auth_request.connection
    return oauth_client.authorization_url(
        connection.oauth_config(with_secret=False),
        state=auth_request.state,
        redirect_uri=auth_request.redirect_uri,
        code_verifier=auth_request.get_secret("code_verifier_sealed"),
        scopes=list(
            auth_request.requested_scopes
            or connection.scopes
            or connection.provider_spec.default_scopes
        ),
    )
