"""The provider's redirect back to the portal (DESIGN §4 flow 3, §7 rules 1–4): every
check on the state, the issuer and the person before the code is exchanged, then the
account activated — or, for a customer's own identifier, the tokens held (sealed) until
its backend verifies the user (verification.py).

The identifier binding rule (§12 rule 18): an identifier of the portal-user shape
(`user_<hex>`) is bound only by a callback that the signed-in user it names completes,
as a current member.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from audit import trail
from audit.models import AuditEvent
from connections import accounts, oauth_client, tokens
from connections.authorization import AUTH_REQUEST_TTL
from connections.errors import (
    AuthorizationFailed,
    ProviderRejected,
    ProviderUnavailable,
    ToolRateLimited,
)
from connections.identity import Identity, identify
from connections.models import AccountStatus, AuthorizationRequest, ConnectedAccount
from connections.oauth_client import TokenResponse
from core.urls import with_query
from portal.identifiers import is_portal_identifier, member_for_identifier


@dataclass(frozen=True)
class CallbackResult:
    account: ConnectedAccount
    redirect_url: str
    activated: bool


DENIED_REASONS = {"wrong_user", "issuer_mismatch", "provider_mismatch", "not_a_member"}


def reject_callback(
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
        raise reject_callback(
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
        raise reject_callback(
            auth_request,
            "replayed_state",
            "This authorization was already completed or abandoned. Start again.",
            request,
            consume=False,
        )
    if auth_request.is_expired:
        raise reject_callback(
            auth_request, "expired_state", "This authorization took too long. Start again.", request
        )
    if provider_key != auth_request.provider:
        raise reject_callback(
            auth_request,
            "provider_mismatch",
            "The response came back on another provider's address; it was ignored.",
            request,
        )
    expected_issuer = auth_request.connection.provider_spec.issuer
    if params.get("iss") and expected_issuer and params["iss"] != expected_issuer:
        raise reject_callback(
            auth_request,
            "issuer_mismatch",
            "The response names another authorization server; it was ignored.",
            request,
        )
    if params.get("error"):
        error = params["error"][:64]
        described = (params.get("error_description") or "")[:200]
        message = (
            "You declined the authorization. Nothing was connected."
            if error == "access_denied"
            else f"The provider refused the authorization ({error})"
            + (f": {described}" if described else ".")
        )
        raise reject_callback(auth_request, f"provider_{error}", message, request)
    if not params.get("code"):
        raise reject_callback(
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
            raise reject_callback(
                auth_request,
                "wrong_user",
                "This authorization link was started for another user. Sign in as that user, "
                "or start your own connection.",
                request,
            )
        if member_for_identifier(auth_request.organization, auth_request.identifier) is None:
            raise reject_callback(
                auth_request,
                "not_a_member",
                "You are no longer a member of this organization.",
                request,
            )
    claimed = AuthorizationRequest.objects.filter(
        pk=auth_request.pk, used_at__isnull=True, status=AuthorizationRequest.Status.PENDING
    ).update(used_at=timezone.now())
    if not claimed:  # a concurrent callback with the same state won
        raise reject_callback(
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
        hint = (
            " Check the client ID and secret on the connection: an owner or admin can "
            "correct them on its page."
            if getattr(exc, "code", "") in CLIENT_REFUSED
            else ""
        )
        raise reject_callback(
            auth_request,
            "token_exchange_failed",
            f"The provider did not issue a token: {exc.message}.{hint}",
            request,
        ) from None
    identity = identify(connection, response)
    if customer_verifies:
        return _await_customer_verification(auth_request, response, identity, request)
    account = activate(auth_request, response, identity, request=request)
    return CallbackResult(account, reverse("connected_accounts"), activated=True)


# The provider did not accept the connection's own credentials (RFC 6749 §5.2; GitHub's name).
CLIENT_REFUSED = frozenset(
    {"invalid_client", "unauthorized_client", "incorrect_client_credentials"}
)


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
            accounts.record_account_event(
                account,
                "connected_account.identity_changed",
                request=request,
                old_provider_account_id=previous_id,
                new_provider_account_id=identity.id,
                new_label=account.provider_account_label,
            )
        if created:
            accounts.record_account_event(
                account, "connected_account.added", request=request, label=account.display_label
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
    return CallbackResult(account, with_query(auth_request.user_verify_url, query), activated=False)


def held_tokens(auth_request: AuthorizationRequest) -> tuple[TokenResponse, Identity]:
    """The tokens and identity a request holds while the customer's backend verifies."""
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
