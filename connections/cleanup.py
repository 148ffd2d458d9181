"""Authorizations nobody finished expire (DESIGN: pending authorizations expire): what
they hold is erased (held tokens revoked at the provider first), a waiting account goes
back to PENDING_AUTH, and old requests are deleted."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit import trail
from connections import accounts, oauth_client
from connections.callback import held_tokens
from connections.models import AccountStatus, AuthorizationRequest, ConnectedAccount

# Finished or abandoned requests are deleted this long after they expired.
AUTH_REQUEST_RETENTION = timedelta(days=1)


def expire_authorization(auth_request: AuthorizationRequest) -> None:
    """Close an authorization nobody finished in time: erase what it holds (revoking
    held tokens at the provider first), and put a waiting account back to PENDING_AUTH."""
    held = None
    if auth_request.pending_token_set_sealed:
        response, _ = held_tokens(auth_request)
        held = {"access_token": response.access_token, "refresh_token": response.refresh_token}
        oauth_client.revoke(auth_request.connection.oauth_config(), tokens=held, kept=response.kept)
    with transaction.atomic():
        updated = (
            AuthorizationRequest.objects.filter(pk=auth_request.pk).unfinished().fail("expired")
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


def prune_authorization_requests(*, now: Any = None) -> dict[str, int]:
    """Expire what nobody finished (erasing held tokens), then delete old requests."""
    now = now or timezone.now()
    stale = (
        AuthorizationRequest.objects.select_related("connection", "organization")
        .unfinished()
        .filter(expires_at__lte=now)
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
