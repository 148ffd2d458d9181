"""Connected accounts: authorization, verification, tokens, refresh, disconnect.

DESIGN §4 flows 1–6. The protocol (authorization URL, PKCE S256, code
exchange, refresh, revocation) is authlib's OAuth 2 client; this module owns
the lifecycle around it: state, verification of who finished the flow, the
sealed token set, single-flight refresh and the audit trail.

Single flight: a refresh locks the account row (SELECT … FOR UPDATE with a lock
timeout on PostgreSQL; SQLite's IMMEDIATE transactions serialize writers), then
re-reads it. Whoever gets the lock second finds a fresh token and returns it
without calling the provider. The rotated refresh token is committed in the
same transaction as the refresh, before the lock is released.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx2  # authlib's OAuth client runs on httpx2 (httpx's successor, same API)
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db import connection as db_connection
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from connections import audit
from connections.configuration import validate_endpoint_url
from connections.models import AccountStatus, AuthorizationRequest, ConnectedAccount, Connection
from connections.tooling import ProviderTimeout, ProviderUnavailable
from connections.vault import aad_for, open_sealed
from portal.errors import Conflict, Forbidden, Invalid, NotFound, PortalError

logger = logging.getLogger(__name__)

AUTH_REQUEST_TTL = timedelta(minutes=10)
REFRESH_MARGIN = timedelta(minutes=5)
LOCK_TIMEOUT_MS = 15_000
# OAuth errors that mean "this grant or client is no longer accepted" (RFC 6749 §5.2).
REJECTED_GRANT_ERRORS = {"invalid_grant", "invalid_client", "unauthorized_client"}


# --- Errors ------------------------------------------------------------------------


class NeedsReauthorization(Conflict):
    """The account cannot be used until its owner authorizes it again."""

    code = "needs_reauthorization"


class ProviderRejected(PortalError):
    """The provider refused the grant or the client (invalid_grant, 401, …)."""

    status = 400
    code = "provider_rejected"


class AuthorizationFailed(PortalError):
    """A callback that cannot complete. The message is shown to the person in the browser."""

    status = 400
    code = "authorization_failed"


# --- Identifiers and accounts -----------------------------------------------------------


def validate_identifier(identifier: Any) -> str:
    if not isinstance(identifier, str) or not 1 <= len(identifier) <= 255:
        raise Invalid(
            "An identifier is a string of 1 to 255 characters.", code="invalid_identifier"
        )
    if not identifier.isprintable():
        raise Invalid(
            "An identifier may only contain printable characters.", code="invalid_identifier"
        )
    return identifier


def user_for_identifier(org, identifier: str):
    """The portal user (a member of `org`) whose derived identifier this is, if any."""
    from portal.models import Membership

    user_uuid = (
        _uuid_or_none(identifier.removeprefix("user_")) if identifier.startswith("user_") else None
    )
    if user_uuid is None:
        return None
    membership = (
        Membership.objects.for_org(org).select_related("user").filter(user__uuid=user_uuid).first()
    )
    return membership.user if membership else None


def _uuid_or_none(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(hex=text)
    except ValueError:
        return None


def get_or_create_connected_account(
    *, org, connection: Connection, identifier: str, request: HttpRequest | None = None
) -> tuple[ConnectedAccount, bool]:
    identifier = validate_identifier(identifier)
    existing = ConnectedAccount.objects.for_org(org).filter(
        connection=connection, identifier=identifier
    )
    account = existing.first()
    if account is not None:
        return account, False
    try:
        with transaction.atomic():
            account = ConnectedAccount.objects.create(
                organization=org,
                connection=connection,
                identifier=identifier,
                user=user_for_identifier(org, identifier),
            )
            audit.record(
                action="connected_account.created",
                organization=org,
                request=request,
                identifier=identifier,
                target_type="connected_account",
                target_id=account.pk,
                metadata={"connection": connection.name, "status": account.status},
            )
    except IntegrityError:  # a concurrent caller created it first
        return existing.get(), False
    return account, True


def _change_status(
    account: ConnectedAccount,
    status: str,
    reason: str = "",
    *,
    request: HttpRequest | None = None,
    actor: audit.Actor | None = None,
    extra_fields: tuple[str, ...] = (),
) -> None:
    """Save a status change (with any other changed fields) and audit old → new."""
    old = account.status
    account.status = status
    account.status_reason = reason[:255]
    account.save(update_fields=["status", "status_reason", "updated_at", *extra_fields])
    audit.record(
        action="connected_account.status_changed",
        organization=account.organization,
        actor=actor,
        request=request,
        identifier=account.identifier,
        target_type="connected_account",
        target_id=account.pk,
        metadata={
            "connection": account.connection.name,
            "old_status": old,
            "new_status": status,
            "reason": reason,
        },
    )


# --- Tokens ----------------------------------------------------------------------------


def _jwt_expiry(access_token: str) -> datetime | None:
    """The `exp` claim of a JWT-shaped token, decoded without verification (we only schedule)."""
    parts = access_token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        return datetime.fromtimestamp(int(payload["exp"]), tz=UTC)
    except (ValueError, KeyError, TypeError):
        return None


def token_expiry(token: dict[str, Any]) -> datetime | None:
    """From `expires_in` when present, else the access token's JWT `exp`, else unknown."""
    expires_in = token.get("expires_in")
    if expires_in not in (None, ""):
        try:
            return timezone.now() + timedelta(seconds=int(expires_in))
        except (TypeError, ValueError):
            pass
    return _jwt_expiry(str(token.get("access_token", "")))


def _store_token_response(
    account: ConnectedAccount, token: dict[str, Any], *, previous: dict[str, Any] | None = None
) -> list[str]:
    """Seal a token endpoint response on the account; returns the changed field names.

    A refresh response without a refresh token keeps the previous one.
    """
    refresh_token = token.get("refresh_token") or (previous or {}).get("refresh_token", "")
    account.set_secret(
        "token_set_sealed",
        json.dumps(
            {
                "access_token": token["access_token"],
                "refresh_token": refresh_token,
                "token_type": token.get("token_type", "Bearer"),
            }
        ),
    )
    account.token_expires_at = token_expiry(token)
    fields = ["token_set_sealed", "token_expires_at"]
    if token.get("scope"):
        separator = account.connection.provider_spec.scope_separator
        account.scopes = sorted(
            set(str(token["scope"]).replace(",", separator).split(separator)) - {""}
        )
        fields.append("scopes")
    return fields


def _token_set(account: ConnectedAccount) -> dict[str, Any]:
    sealed = account.get_secret("token_set_sealed")
    return json.loads(sealed) if sealed else {}


def _expires_soon(expires_at: datetime | None) -> bool:
    return expires_at is not None and expires_at - timezone.now() <= REFRESH_MARGIN


def get_access_token(account: ConnectedAccount, *, reread: bool = True) -> str:
    """A valid access token for the account, refreshing it first when it is about to expire.

    Re-reads the row by default (another process may have refreshed it): one query on
    the fast path. `reread=False` trusts a row the caller loaded moments ago.
    """
    if reread:
        row = (
            ConnectedAccount.objects.filter(pk=account.pk)
            .values_list("status", "token_set_sealed", "token_expires_at")
            .first()
        )
        if row is None:
            raise NotFound("The connected account no longer exists.")
    else:
        row = (account.status, account.token_set_sealed, account.token_expires_at)
    status, sealed, expires_at = row
    if status != AccountStatus.ACTIVE or not sealed:
        raise _needs_reauthorization(account)
    if _expires_soon(expires_at):
        return refresh_access_token(account)
    return json.loads(open_sealed(sealed, aad=aad_for(account, "token_set_sealed")))["access_token"]


def _needs_reauthorization(account: ConnectedAccount) -> NeedsReauthorization:
    return NeedsReauthorization(
        f"The {account.connection.name} account of {account.identifier} needs to be "
        "authorized again.",
        details={
            "connection_name": account.connection.name,
            "identifier": account.identifier,
            "connected_account_id": str(account.pk),
            "status": account.status,
        },
    )


def _lock_account(account_id) -> ConnectedAccount:
    if db_connection.vendor == "postgresql":
        # A slow provider must not pin waiters (and the pool) forever.
        with db_connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = {int(LOCK_TIMEOUT_MS)}")
    return (
        ConnectedAccount.objects.select_for_update(of=("self",))
        .select_related("connection", "organization")
        .get(pk=account_id)
    )


def refresh_access_token(
    account: ConnectedAccount, *, failed_access_token: str | None = None
) -> str:
    """Refresh under the row lock; exactly one caller talks to the provider.

    Without `failed_access_token` the refresh happens only if the stored token
    is still about to expire; with it (the provider answered 401 to that token)
    only if the stored token is still the one that failed. Either way a peer's
    fresh token is returned as is.
    """
    failure: PortalError | None = None
    with transaction.atomic():
        locked = _lock_account(account.pk)
        if locked.status != AccountStatus.ACTIVE:
            raise _needs_reauthorization(locked)
        tokens = _token_set(locked)
        if failed_access_token is None and not _expires_soon(locked.token_expires_at):
            return tokens["access_token"]
        if failed_access_token is not None and tokens.get("access_token") != failed_access_token:
            return tokens["access_token"]
        if not tokens.get("refresh_token"):
            _expire(locked, "The provider gave no refresh token; authorize again.")
            failure = _needs_reauthorization(locked)
        else:
            try:
                response = _provider_refresh(locked, tokens["refresh_token"])
            except ProviderRejected as exc:
                # We hold the lock and re-read the row: this refresh token really was refused.
                _expire(
                    locked, f"The provider refused the refresh ({exc.message}); authorize again."
                )
                failure = _needs_reauthorization(locked)
            except ProviderUnavailable as exc:
                locked.refresh_failure_count += 1
                locked.last_error = exc.message[:255]
                locked.save(update_fields=["refresh_failure_count", "last_error", "updated_at"])
                failure = exc
            else:
                fields = _store_token_response(locked, response, previous=tokens)
                locked.last_refreshed_at = timezone.now()
                locked.refresh_failure_count = 0
                locked.last_error = ""
                locked.save(
                    update_fields=[
                        *fields,
                        "last_refreshed_at",
                        "refresh_failure_count",
                        "last_error",
                        "updated_at",
                    ]
                )
                audit.record(
                    action="connected_account.refreshed",
                    organization=locked.organization,
                    actor=audit.Actor.system(),
                    identifier=locked.identifier,
                    target_type="connected_account",
                    target_id=locked.pk,
                    metadata={
                        "connection": locked.connection.name,
                        "expires_at": locked.token_expires_at,
                        "reason": "rejected token" if failed_access_token else "expiring",
                    },
                )
                return response["access_token"]
    raise failure


def _expire(account: ConnectedAccount, reason: str) -> None:
    account.refresh_failure_count += 1
    account.last_error = reason[:255]
    _change_status(
        account,
        AccountStatus.EXPIRED,
        reason,
        actor=audit.Actor.system(),
        extra_fields=("refresh_failure_count", "last_error"),
    )


# --- Talking to the provider ------------------------------------------------------------


def _client(connection: Connection, *, redirect_uri: str | None = None) -> OAuth2Client:
    provider = connection.provider_spec
    return OAuth2Client(
        client_id=connection.client_id,
        client_secret=connection.get_secret("client_secret_sealed") or "",
        token_endpoint_auth_method=provider.token_endpoint_auth_method,
        revocation_endpoint_auth_method=provider.token_endpoint_auth_method,
        redirect_uri=redirect_uri,
        code_challenge_method="S256" if provider.supports_pkce else None,
        timeout=httpx2.Timeout(settings.PROVIDER_HTTP_TIMEOUT_SECONDS),
    )


def _call_provider(what: str, call) -> Any:
    """Run one token-endpoint call and map its failures to portal errors (no secrets in them)."""
    try:
        return call()
    except OAuthError as exc:
        message = f"{what}: {exc.error}" + (f" ({exc.description})" if exc.description else "")
        if exc.error in REJECTED_GRANT_ERRORS:
            raise ProviderRejected(message[:255], code=exc.error) from None
        raise ProviderUnavailable(message[:255]) from None
    except httpx2.TimeoutException:
        raise ProviderTimeout(f"{what}: the provider did not answer in time.") from None
    except httpx2.HTTPStatusError as exc:
        status = exc.response.status_code
        if status in (400, 401, 403):
            raise ProviderRejected(f"{what}: HTTP {status}", code=f"http_{status}") from None
        raise ProviderUnavailable(f"{what}: the provider answered HTTP {status}.") from None
    except (httpx2.TransportError, ValueError) as exc:
        raise ProviderUnavailable(
            f"{what}: the provider could not be reached ({type(exc).__name__})."
        ) from None


def _provider_refresh(account: ConnectedAccount, refresh_token: str) -> dict[str, Any]:
    connection = account.connection
    with _client(connection) as client:
        return dict(
            _call_provider(
                "refresh",
                lambda: client.refresh_token(
                    connection.endpoint("token_url"), refresh_token=refresh_token
                ),
            )
        )


# --- Authorization --------------------------------------------------------------------


def portal_url(path: str, request: HttpRequest | None = None) -> str:
    if settings.PORTAL_BASE_URL:
        return settings.PORTAL_BASE_URL + path
    if request is not None:
        return request.build_absolute_uri(path)
    return "http://127.0.0.1:8000" + path


def provider_redirect_uri(provider_key: str, request: HttpRequest | None = None) -> str:
    """The exact redirect URI to register at the provider: one path per provider (mix-up defense)."""
    return portal_url(reverse("oauth_callback", args=[provider_key]), request)


def redirect_uri_for(connection: Connection, request: HttpRequest | None = None) -> str:
    return provider_redirect_uri(connection.provider, request)


def create_authorization_request(
    *,
    account: ConnectedAccount,
    flow: str = AuthorizationRequest.Flow.PORTAL,
    user_verify_url: str = "",
    client_state: str = "",
    initiated_by=None,
    request: HttpRequest | None = None,
) -> AuthorizationRequest:
    connection = account.connection
    if not connection.enabled:
        raise Conflict(f"The {connection.name} connection is disabled.", code="connection_disabled")
    if not connection.provider_spec.is_oauth2:
        raise Invalid(f"{connection.name} does not use OAuth.", code="not_oauth")
    if user_verify_url:
        validate_endpoint_url(user_verify_url, field="user_verify_url")
    elif flow == AuthorizationRequest.Flow.API and account.user_id is None:
        raise Invalid(
            f"{account.identifier!r} is not a portal user, so the portal cannot check who "
            "completes the authorization: pass user_verify_url and confirm the user with "
            "/api/v1/connected-accounts/verify.",
            code="user_verify_url_required",
        )
    auth_request = AuthorizationRequest(
        organization=account.organization,
        connection=connection,
        account=account,
        identifier=account.identifier,
        state=secrets.token_urlsafe(32),
        flow=flow,
        provider=connection.provider,
        authorization_url=connection.endpoint("authorization_url"),
        redirect_uri=redirect_uri_for(connection, request),
        user_verify_url=user_verify_url,
        client_state=client_state[:500],
        initiated_by=initiated_by,
        expires_at=timezone.now() + AUTH_REQUEST_TTL,
    )
    if connection.provider_spec.supports_pkce:
        # RFC 7636: 43–128 characters; 64 random bytes in base64url give 86.
        auth_request.set_secret("code_verifier_sealed", secrets.token_urlsafe(64))
    with transaction.atomic():
        auth_request.save(force_insert=True)
        audit.record(
            action="oauth.authorization_started",
            organization=account.organization,
            request=request,
            identifier=account.identifier,
            target_type="connected_account",
            target_id=account.pk,
            metadata={
                "connection": connection.name,
                "flow": flow,
                "auth_request_id": str(auth_request.pk),
                "user_verify": bool(user_verify_url),
            },
        )
    return auth_request


def authorization_link(
    auth_request: AuthorizationRequest, request: HttpRequest | None = None
) -> str:
    """The portal URL to hand to the person; it redirects to the provider."""
    return portal_url(reverse("oauth_authorize", args=[auth_request.pk]), request)


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
    scopes = connection.scopes or list(connection.provider_spec.default_scopes)
    with _client(connection, redirect_uri=auth_request.redirect_uri) as client:
        url, _ = client.create_authorization_url(
            auth_request.authorization_url,
            state=auth_request.state,
            code_verifier=auth_request.get_secret("code_verifier_sealed"),
            scope=connection.provider_spec.scope_separator.join(scopes),
        )
    return url


@dataclass(frozen=True)
class CallbackResult:
    account: ConnectedAccount
    redirect_url: str
    activated: bool


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
            )
        audit.record(
            action="oauth.callback_rejected",
            organization=auth_request.organization if auth_request else None,
            request=request,
            identifier=auth_request.identifier if auth_request else "",
            target_type="authorization_request",
            target_id=auth_request.pk if auth_request else "",
            outcome=audit.AuditEvent.Outcome.DENIED
            if reason in {"wrong_user", "issuer_mismatch", "provider_mismatch"}
            else audit.AuditEvent.Outcome.FAILURE,
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
    customer_verifies = bool(auth_request.user_verify_url)
    user = getattr(request, "user", None)
    if not customer_verifies and (
        user is None or not user.is_authenticated or user.identifier != auth_request.identifier
    ):
        # DESIGN §7 rule 4: only the identifier's owner may activate it. Checked before the
        # code is exchanged, so no token is ever issued to the wrong person's session.
        raise _reject_callback(
            auth_request,
            "wrong_user",
            "This authorization link was started for another user. Sign in as that user, "
            "or start your own connection.",
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
    try:
        token = _exchange_code(auth_request, params["code"])
    except (ProviderRejected, ProviderUnavailable) as exc:
        raise _reject_callback(
            auth_request,
            "token_exchange_failed",
            f"The provider did not issue a token: {exc.message}",
            request,
        ) from None
    if customer_verifies:
        return _await_customer_verification(auth_request, token, request)
    account = _activate(auth_request, token, request=request)
    return CallbackResult(account, reverse("connected_accounts"), activated=True)


def _exchange_code(auth_request: AuthorizationRequest, code: str) -> dict[str, Any]:
    connection = auth_request.connection
    with _client(connection, redirect_uri=auth_request.redirect_uri) as client:
        return dict(
            _call_provider(
                "code exchange",
                lambda: client.fetch_token(
                    connection.endpoint("token_url"),
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=auth_request.get_secret("code_verifier_sealed") or None,
                    redirect_uri=auth_request.redirect_uri,
                ),
            )
        )


def _activate(
    auth_request: AuthorizationRequest, token: dict[str, Any], *, request: HttpRequest | None
) -> ConnectedAccount:
    with transaction.atomic():
        account = _lock_account(auth_request.account_id)
        fields = _store_token_response(account, token)
        if not token.get("scope"):
            account.scopes = list(
                auth_request.connection.scopes
                or auth_request.connection.provider_spec.default_scopes
            )
            fields.append("scopes")
        if account.user_id is None:
            account.user = user_for_identifier(account.organization, account.identifier)
        account.refresh_failure_count = 0
        account.last_error = ""
        _change_status(
            account,
            AccountStatus.ACTIVE,
            "",
            request=request,
            extra_fields=(*fields, "user", "refresh_failure_count", "last_error"),
        )
        AuthorizationRequest.objects.filter(pk=auth_request.pk).update(
            status=AuthorizationRequest.Status.COMPLETED,
            pending_token_set_sealed="",
            verified_at=timezone.now(),
        )
    return account


def _await_customer_verification(
    auth_request: AuthorizationRequest, token: dict[str, Any], request: HttpRequest
) -> CallbackResult:
    """Hold the tokens on the request until the customer's backend confirms the user."""
    auth_request.set_secret("pending_token_set_sealed", json.dumps(token))
    auth_request.status = AuthorizationRequest.Status.AWAITING_VERIFICATION
    auth_request.expires_at = timezone.now() + AUTH_REQUEST_TTL
    with transaction.atomic():
        auth_request.save(update_fields=["pending_token_set_sealed", "status", "expires_at"])
        account = _lock_account(auth_request.account_id)
        if account.status != AccountStatus.ACTIVE:
            # An active account keeps working until the new authorization is verified.
            _change_status(
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


def verify_authorization(
    *, org, auth_request_id: Any, identifier: str, request: HttpRequest | None = None
) -> tuple[ConnectedAccount, str]:
    """The customer's backend confirms who finished the OAuth flow → ACTIVE."""
    identifier = validate_identifier(identifier)
    auth_request = (
        AuthorizationRequest.objects.for_org(org)
        .select_related("connection", "organization")
        .filter(pk=_uuid_or_none(str(auth_request_id)))
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
        raise Conflict("This authorization request has expired.", code="auth_request_expired")
    if identifier != auth_request.identifier:
        audit.record(
            action="oauth.verification_rejected",
            organization=org,
            request=request,
            identifier=identifier,
            target_type="authorization_request",
            target_id=auth_request.pk,
            outcome=audit.AuditEvent.Outcome.DENIED,
            metadata={"reason": "identifier_mismatch"},
        )
        raise Forbidden(
            "The identifier does not match the one this authorization was started for.",
            code="identifier_mismatch",
        )
    token = json.loads(auth_request.get_secret("pending_token_set_sealed") or "{}")
    with transaction.atomic():
        # Re-check under the lock so two verifications cannot both activate.
        locked = AuthorizationRequest.objects.select_for_update().get(pk=auth_request.pk)
        if locked.status != AuthorizationRequest.Status.AWAITING_VERIFICATION:
            raise Conflict(
                "This authorization request was already verified.", code="auth_request_not_pending"
            )
        account = _activate(locked, token, request=request)
    return account, portal_url(reverse("oauth_done"), request)


# --- Disconnect and proactive refresh ---------------------------------------------------


def disconnect(
    *,
    account: ConnectedAccount,
    request: HttpRequest | None = None,
    actor: audit.Actor | None = None,
) -> ConnectedAccount:
    """Revoke at the provider (best effort), erase the sealed tokens, mark DISCONNECTED."""
    tokens = _token_set(account)
    revoke_url = account.connection.endpoint("revoke_url")
    revoked, revoke_error = False, ""
    if tokens and revoke_url:
        token = tokens.get("refresh_token") or tokens.get("access_token")
        hint = "refresh_token" if tokens.get("refresh_token") else "access_token"
        try:
            with _client(account.connection) as client:
                response = _call_provider(
                    "revoke",
                    lambda: client.revoke_token(revoke_url, token=token, token_type_hint=hint),
                )
            revoked = response.status_code < 400
            revoke_error = "" if revoked else f"HTTP {response.status_code}"
        except PortalError as exc:
            revoke_error = exc.message
    with transaction.atomic():
        locked = _lock_account(account.pk)
        locked.set_secret("token_set_sealed", None)
        locked.token_expires_at = None
        locked.scopes = []
        _change_status(
            locked,
            AccountStatus.DISCONNECTED,
            "Disconnected"
            + ("" if revoked or not revoke_url else " (revocation at the provider failed)"),
            request=request,
            actor=actor,
            extra_fields=("token_set_sealed", "token_expires_at", "scopes"),
        )
        audit.record(
            action="connected_account.disconnected",
            organization=locked.organization,
            actor=actor,
            request=request,
            identifier=locked.identifier,
            target_type="connected_account",
            target_id=locked.pk,
            outcome=audit.AuditEvent.Outcome.SUCCESS,
            metadata={
                "connection": locked.connection.name,
                "revoked_at_provider": revoked,
                "revoke_error": revoke_error,
            },
        )
    return locked


def refresh_expiring_accounts(*, margin: timedelta = REFRESH_MARGIN) -> dict[str, int]:
    """Refresh every ACTIVE account expiring within `margin`, one at a time (single flight each)."""
    counts = {"refreshed": 0, "expired": 0, "failed": 0}
    due = ConnectedAccount.objects.filter(
        status=AccountStatus.ACTIVE, token_expires_at__lte=timezone.now() + margin
    ).select_related("connection", "organization")
    for account in due.iterator(chunk_size=200):
        try:
            refresh_access_token(account)
        except NeedsReauthorization:
            counts["expired"] += 1
        except ProviderUnavailable:
            counts["failed"] += 1
        else:
            counts["refreshed"] += 1
    return counts
