"""Authorization: links, the provider's callback, customer verification, reconnect links
and the cleanup of authorizations nobody finished (DESIGN §4 flows 2–3, §7 rules 1–4).

The identifier binding rule (§12 rule 18): an identifier of the portal-user shape
(`user_<hex>`) is bound only by a callback that the signed-in user it names
completes, as a current member; the backend flow (`user_verify_url` + /verify) is
for the company's own identifiers, and only API keys may name a `user_verify_url`.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from audit import trail
from audit.models import AuditEvent
from connections import accounts, oauth_client, tokens
from connections.errors import (
    AuthorizationFailed,
    ProviderRejected,
    ProviderUnavailable,
    ToolRateLimited,
)
from connections.identity import Identity, identify
from connections.models import AccountStatus, AuthorizationRequest, ConnectedAccount
from connections.oauth_client import TokenResponse
from core.errors import Conflict, Forbidden, Invalid, NotFound
from portal.identifiers import is_portal_identifier, member_for_identifier, validate_identifier

AUTH_REQUEST_TTL = timedelta(minutes=10)
# Finished or abandoned requests are deleted this long after they expired.
AUTH_REQUEST_RETENTION = timedelta(days=1)


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


def redirect_uri_for(connection, request: HttpRequest | None = None) -> str:
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
    caller: Any = None,
    flow: str = AuthorizationRequest.Flow.PORTAL,
    user_verify_url: str = "",
) -> None:
    """Whether an authorization may start at all — checked before anything is written."""
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
    caller: Any,
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
    caller: Any = None,
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


# --- The callback -----------------------------------------------------------------------


@dataclass(frozen=True)
class CallbackResult:
    account: ConnectedAccount
    redirect_url: str
    activated: bool


DENIED_REASONS = {"wrong_user", "issuer_mismatch", "provider_mismatch", "not_a_member"}


def _reject_callback(
    auth_request: AuthorizationRequest | None,
    reason: str,
    message: str,
    request: HttpRequest | None,
    *,
    consume: bool = True,
) -> AuthorizationFailed:
    """Audit a refused callback (and close its request) and return the error to raise."""
    with transaction.atomic():
        if auth_request is not None and consume:
            AuthorizationRequest.objects.filter(
                pk=auth_request.pk, status=AuthorizationRequest.Status.PENDING
            ).update(
                status=AuthorizationRequest.Status.FAILED,
                failure_reason=reason,
                used_at=timezone.now(),
                code_verifier_sealed="",
            )
        trail.record(
            action="oauth.callback_rejected",
            organization=auth_request.organization if auth_request else None,
            request=request,
            identifier=auth_request.identifier if auth_request else "",
            target_type="authorization_request",
            target_id=auth_request.pk if auth_request else "",
            outcome=AuditEvent.Outcome.DENIED
            if reason in DENIED_REASONS
            else AuditEvent.Outcome.FAILURE,
            metadata={"reason": reason},
        )
    return AuthorizationFailed(message, code=reason)


def complete_authorization(
    *, provider_key: str, params: dict[str, str], request: HttpRequest
) -> CallbackResult:
    """Handle the provider's redirect back to the portal (DESIGN §4 flow 3, §7 rules 1–4)."""
    state = params.get("state", "")
    auth_request = (
        AuthorizationRequest.objects.select_related("connection", "account", "organization")
        .filter(state=state)
        .first()
        if state
        else None
    )
    if auth_request is None:
        raise _reject_callback(
            None,
            "unknown_state",
            "This authorization response does not match any sign-in we started. "
            "Start again from the Connected accounts page.",
            request,
        )
    if (
        auth_request.used_at is not None
        or auth_request.status != AuthorizationRequest.Status.PENDING
    ):
        raise _reject_callback(
            auth_request,
            "replayed_state",
            "This authorization was already completed or abandoned. Start again.",
            request,
            consume=False,
        )
    if auth_request.is_expired:
        raise _reject_callback(
            auth_request, "expired_state", "This authorization took too long. Start again.", request
        )
    if provider_key != auth_request.provider:
        raise _reject_callback(
            auth_request,
            "provider_mismatch",
            "The response came back on another provider's address; it was ignored.",
            request,
        )
    expected_issuer = auth_request.connection.provider_spec.issuer
    if params.get("iss") and expected_issuer and params["iss"] != expected_issuer:
        raise _reject_callback(
            auth_request,
            "issuer_mismatch",
            "The response names another authorization server; it was ignored.",
            request,
        )
    if params.get("error"):
        error = params["error"][:64]
        message = (
            "You declined the authorization. Nothing was connected."
            if error == "access_denied"
            else f"The provider refused the authorization ({error})."
        )
        raise _reject_callback(auth_request, f"provider_{error}", message, request)
    if not params.get("code"):
        raise _reject_callback(
            auth_request, "missing_code", "The provider sent no authorization code.", request
        )
    portal_identifier = is_portal_identifier(auth_request.identifier)
    customer_verifies = bool(auth_request.user_verify_url) and not portal_identifier
    if not customer_verifies:
        # DESIGN §7 rule 4, §12 rule 18: only the identifier's owner, signed in and still a
        # member, may activate it. Checked before the code is exchanged, so no token is ever
        # issued to the wrong person's session.
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or user.identifier != auth_request.identifier:
            raise _reject_callback(
                auth_request,
                "wrong_user",
                "This authorization link was started for another user. Sign in as that user, "
                "or start your own connection.",
                request,
            )
        if member_for_identifier(auth_request.organization, auth_request.identifier) is None:
            raise _reject_callback(
                auth_request,
                "not_a_member",
                "You are no longer a member of this organization.",
                request,
            )
    claimed = AuthorizationRequest.objects.filter(
        pk=auth_request.pk, used_at__isnull=True, status=AuthorizationRequest.Status.PENDING
    ).update(used_at=timezone.now())
    if not claimed:  # a concurrent callback with the same state won
        raise _reject_callback(
            auth_request,
            "replayed_state",
            "This authorization was already used.",
            request,
            consume=False,
        )
    connection = auth_request.connection
    try:
        response = oauth_client.exchange_code(
            connection.oauth_config(),
            code=params["code"],
            redirect_uri=auth_request.redirect_uri,
            code_verifier=auth_request.get_secret("code_verifier_sealed") or None,
        )
    except (ProviderRejected, ProviderUnavailable, ToolRateLimited) as exc:
        raise _reject_callback(
            auth_request,
            "token_exchange_failed",
            f"The provider did not issue a token: {exc.message}",
            request,
        ) from None
    identity = identify(connection, response)
    if customer_verifies:
        return _await_customer_verification(auth_request, response, identity, request)
    account = activate(auth_request, response, identity, request=request)
    return CallbackResult(account, reverse("connected_accounts"), activated=True)


def _target_account(
    auth_request: AuthorizationRequest, identity: Identity
) -> tuple[ConnectedAccount, bool]:
    """The row this authorization fills (locked), and whether it was created for it.

    The account already known as this provider identity wins; else the request's own
    row when it is new or the same identity (or, not adding, a reconnect as another
    identity); else a new row for the added account.
    """
    existing = None
    if identity.id:
        existing = (
            ConnectedAccount.objects.for_org(auth_request.organization)
            .filter(
                connection=auth_request.connection_id,
                identifier=auth_request.identifier,
                provider_account_id=identity.id,
            )
            .first()
        )
    if existing is not None:
        return accounts.lock_account(existing.pk), False
    own = accounts.lock_account(auth_request.account_id)
    if not auth_request.add_account or own.provider_account_id in ("", identity.id):
        return own, False
    siblings = ConnectedAccount.objects.for_org(own.organization).filter(
        connection=own.connection_id, identifier=own.identifier
    )
    created = ConnectedAccount.objects.create(
        organization=own.organization,
        connection=own.connection,
        identifier=own.identifier,
        user=own.user,
        provider_account_id=identity.id,
        is_default=not siblings.filter(status=AccountStatus.ACTIVE).exists(),
    )
    return accounts.lock_account(created.pk), True


def activate(
    auth_request: AuthorizationRequest,
    response: TokenResponse,
    identity: Identity,
    *,
    request: HttpRequest | None,
) -> ConnectedAccount:
    with transaction.atomic():
        account, created = _target_account(auth_request, identity)
        fields = tokens.store_token_response(account, response)
        if response.scopes is None:
            account.scopes = list(auth_request.requested_scopes)
            fields.append("scopes")
        if identity.kept:
            account.provider_data = {**(account.provider_data or {}), **identity.kept}
            fields.append("provider_data")
        previous_id = account.provider_account_id
        if identity.id:
            account.provider_account_id = identity.id
            account.provider_account_label = identity.label or identity.id
            fields += ["provider_account_id", "provider_account_label"]
        if account.user_id is None:
            account.user = member_for_identifier(account.organization, account.identifier)
        account.refresh_failure_count = 0
        account.last_error = ""
        accounts.change_status(
            account,
            AccountStatus.ACTIVE,
            "",
            request=request,
            extra_fields=(*dict.fromkeys(fields), "user", "refresh_failure_count", "last_error"),
        )
        if previous_id and identity.id and previous_id != identity.id:
            trail.record(
                action="connected_account.identity_changed",
                organization=account.organization,
                request=request,
                identifier=account.identifier,
                target_type="connected_account",
                target_id=account.pk,
                metadata={
                    "connection": account.connection.name,
                    "old_provider_account_id": previous_id,
                    "new_provider_account_id": identity.id,
                    "new_label": account.provider_account_label,
                },
            )
        if created:
            trail.record(
                action="connected_account.added",
                organization=account.organization,
                request=request,
                identifier=account.identifier,
                target_type="connected_account",
                target_id=account.pk,
                metadata={"connection": account.connection.name, "label": account.display_label},
            )
        AuthorizationRequest.objects.filter(pk=auth_request.pk).update(
            status=AuthorizationRequest.Status.COMPLETED,
            pending_token_set_sealed="",
            code_verifier_sealed="",
            verified_at=timezone.now(),
        )
        # The pending row an added account came from is not an account of its own.
        if created and auth_request.account_id != account.pk:
            ConnectedAccount.objects.filter(
                pk=auth_request.account_id, provider_account_id="", token_set_sealed=""
            ).exclude(status=AccountStatus.ACTIVE).delete()
    return account


def _await_customer_verification(
    auth_request: AuthorizationRequest,
    response: TokenResponse,
    identity: Identity,
    request: HttpRequest,
) -> CallbackResult:
    """Hold the tokens on the request until the customer's backend confirms the user."""
    auth_request.set_secret(
        "pending_token_set_sealed",
        json.dumps(
            {
                "access_token": response.access_token,
                "refresh_token": response.refresh_token,
                "token_type": response.token_type,
                "expires_in": response.expires_in,
                "scopes": response.scopes,
                "kept": dict(response.kept),
                "identity": [identity.id, identity.label, identity.kept],
            }
        ),
    )
    auth_request.status = AuthorizationRequest.Status.AWAITING_VERIFICATION
    auth_request.expires_at = timezone.now() + AUTH_REQUEST_TTL
    with transaction.atomic():
        auth_request.save(update_fields=["pending_token_set_sealed", "status", "expires_at"])
        account = accounts.lock_account(auth_request.account_id)
        if account.status != AccountStatus.ACTIVE:
            # An active account keeps working until the new authorization is verified.
            accounts.change_status(
                account,
                AccountStatus.PENDING_VERIFICATION,
                "Waiting for the application to confirm the user.",
                request=request,
            )
    query = {"auth_request_id": str(auth_request.pk)}
    if auth_request.client_state:
        query["state"] = auth_request.client_state
    return CallbackResult(
        account, _with_query(auth_request.user_verify_url, query), activated=False
    )


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(filter(None, [parts.query, urlencode(params)]))
    return urlunsplit(parts._replace(query=query))


def _held(auth_request: AuthorizationRequest) -> tuple[TokenResponse, Identity]:
    held = json.loads(auth_request.get_secret("pending_token_set_sealed") or "{}")
    identity_id, label, kept = held.get("identity") or ["", "", {}]
    scopes = held.get("scopes")
    return (
        TokenResponse(
            access_token=held.get("access_token", ""),
            refresh_token=held.get("refresh_token", ""),
            token_type=held.get("token_type", "Bearer"),
            expires_in=held.get("expires_in"),
            scopes=tuple(scopes) if scopes is not None else None,
            kept=held.get("kept") or {},
            raw={},
        ),
        Identity(identity_id, label, kept),
    )


def verify_authorization(
    *, caller: Any, auth_request_id: Any, identifier: str, request: HttpRequest | None = None
) -> tuple[ConnectedAccount, str]:
    """The customer's backend confirms who finished the OAuth flow → ACTIVE."""
    org = caller.organization
    identifier = validate_identifier(identifier)
    auth_request = (
        AuthorizationRequest.objects.for_org(org)
        .select_related("connection", "organization")
        .filter(pk=_uuid_or_none(auth_request_id))
        .first()
    )
    if auth_request is None:
        raise NotFound("No such authorization request.", code="auth_request_not_found")
    if auth_request.status != AuthorizationRequest.Status.AWAITING_VERIFICATION:
        raise Conflict(
            "This authorization request is not waiting for verification "
            f"(it is {auth_request.get_status_display().lower()}).",
            code="auth_request_not_pending",
        )
    if auth_request.is_expired:
        expire_authorization(auth_request)
        raise Conflict("This authorization request has expired.", code="auth_request_expired")
    if identifier != auth_request.identifier or is_portal_identifier(identifier):
        trail.record(
            action="oauth.verification_rejected",
            organization=org,
            caller=caller,
            request=request,
            identifier=identifier,
            target_type="authorization_request",
            target_id=auth_request.pk,
            outcome=AuditEvent.Outcome.DENIED,
            metadata={"reason": "identifier_mismatch"},
        )
        raise Forbidden(
            "The identifier does not match the one this authorization was started for.",
            code="identifier_mismatch",
        )
    with transaction.atomic():
        # Re-check under the lock so two verifications cannot both activate.
        locked = AuthorizationRequest.objects.select_for_update().get(pk=auth_request.pk)
        if locked.status != AuthorizationRequest.Status.AWAITING_VERIFICATION:
            raise Conflict(
                "This authorization request was already verified.", code="auth_request_not_pending"
            )
        response, identity = _held(locked)
        account = activate(locked, response, identity, request=request)
    return account, portal_url(reverse("oauth_done"), request)


def _uuid_or_none(value: Any):
    import uuid

    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


# --- Cleanup (DESIGN: pending authorizations expire) ------------------------------------


def expire_authorization(auth_request: AuthorizationRequest) -> None:
    """Close an authorization nobody finished in time: erase what it holds (revoking
    held tokens at the provider first), and put a waiting account back to PENDING_AUTH."""
    held = None
    if auth_request.pending_token_set_sealed:
        response, _ = _held(auth_request)
        held = {"access_token": response.access_token, "refresh_token": response.refresh_token}
        oauth_client.revoke(auth_request.connection.oauth_config(), tokens=held, kept=response.kept)
    with transaction.atomic():
        updated = AuthorizationRequest.objects.filter(
            pk=auth_request.pk,
            status__in=[
                AuthorizationRequest.Status.PENDING,
                AuthorizationRequest.Status.AWAITING_VERIFICATION,
            ],
        ).update(
            status=AuthorizationRequest.Status.FAILED,
            failure_reason="expired",
            pending_token_set_sealed="",
            code_verifier_sealed="",
        )
        if not updated:
            return
        account = (
            ConnectedAccount.objects.select_related("connection", "organization")
            .filter(pk=auth_request.account_id, status=AccountStatus.PENDING_VERIFICATION)
            .first()
        )
        if account is not None:
            accounts.change_status(
                account,
                AccountStatus.PENDING_AUTH,
                "The authorization was not confirmed in time; start again.",
                actor=trail.Actor.system("cleanup"),
            )
        trail.record(
            action="oauth.authorization_expired",
            organization=auth_request.organization,
            actor=trail.Actor.system("cleanup"),
            identifier=auth_request.identifier,
            target_type="authorization_request",
            target_id=auth_request.pk,
            metadata={"held_tokens_erased": held is not None},
        )


def prune_authorization_requests(*, now=None) -> dict[str, int]:
    """Expire what nobody finished (erasing held tokens), then delete old requests."""
    now = now or timezone.now()
    stale = AuthorizationRequest.objects.select_related("connection", "organization").filter(
        status__in=[
            AuthorizationRequest.Status.PENDING,
            AuthorizationRequest.Status.AWAITING_VERIFICATION,
        ],
        expires_at__lte=now,
    )
    expired = 0
    for auth_request in stale.iterator(chunk_size=200):
        expire_authorization(auth_request)
        expired += 1
    deleted, _ = (
        AuthorizationRequest.objects.filter(expires_at__lte=now - AUTH_REQUEST_RETENTION)
        .exclude(status=AuthorizationRequest.Status.AWAITING_VERIFICATION)
        .delete()
    )
    return {"expired": expired, "deleted": deleted}
