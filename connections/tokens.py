"""Access tokens: get, refresh (single flight), store, expire, and the proactive sweep.

DESIGN §4 flows 4–5, §7 rules 7–9. A refresh locks the account row (SELECT …
FOR UPDATE with a lock timeout on PostgreSQL; SQLite's IMMEDIATE transactions
serialize writers), then re-reads it: whoever gets the lock second finds a fresh
token and returns it without calling the provider. The rotated refresh token is
committed in the same transaction as the refresh, before the lock is released.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit import trail
from connections.accounts import change_status, lock_account, needs_reauthorization, token_set
from connections.errors import NeedsReauthorization, ProviderRejected, ProviderUnavailable
from connections.models import AccountStatus, ConnectedAccount
from connections.oauth_client import TokenResponse, refresh
from connections.providers.catalog import Provider
from connections.vault import aad_for, open_sealed
from core.errors import NotFound, PortalError

REFRESH_MARGIN = timedelta(minutes=5)


def _jwt_expiry(access_token: str) -> datetime | None:
    """The `exp` claim of a JWT-shaped token, decoded without verification (we only schedule)."""
    parts = access_token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        return datetime.fromtimestamp(int(payload["exp"]), tz=UTC)
    except (ValueError, KeyError, TypeError, OverflowError):
        return None


def token_expiry(response: TokenResponse, provider: Provider) -> datetime | None:
    """From `expires_in`; else the token's JWT `exp`; else the entry's default lifetime
    (Salesforce sends none); else unknown (the token is refreshed only after a 401)."""
    now = timezone.now()
    if response.expires_in is not None:
        return now + timedelta(seconds=response.expires_in)
    from_jwt = _jwt_expiry(response.access_token)
    if from_jwt is not None:
        return from_jwt
    if provider.refresh and provider.refresh.default_lifetime_seconds:
        return now + timedelta(seconds=provider.refresh.default_lifetime_seconds)
    return None


def refresh_margin(issued_at: datetime | None, expires_at: datetime | None) -> timedelta:
    """Refresh this long before expiry: five minutes, or half the token's lifetime when it
    is shorter — a 60-second token must not be refreshed on every call."""
    if issued_at is None or expires_at is None:
        return REFRESH_MARGIN
    return min(REFRESH_MARGIN, max(expires_at - issued_at, timedelta(0)) / 2)


def expires_soon(issued_at: datetime | None, expires_at: datetime | None) -> bool:
    return expires_at is not None and expires_at - timezone.now() <= refresh_margin(
        issued_at, expires_at
    )


def store_token_response(
    account: ConnectedAccount, response: TokenResponse, *, previous: dict[str, Any] | None = None
) -> list[str]:
    """Seal a token endpoint answer on the account; returns the changed field names.

    An answer without a refresh token keeps the previous one (providers that do not rotate).
    """
    refresh_token = response.refresh_token or (previous or {}).get("refresh_token", "")
    account.set_secret(
        "token_set_sealed",
        json.dumps(
            {
                "access_token": response.access_token,
                "refresh_token": refresh_token,
                "token_type": response.token_type,
            }
        ),
    )
    account.token_issued_at = timezone.now()
    account.token_expires_at = token_expiry(response, account.connection.provider_spec)
    fields = ["token_set_sealed", "token_issued_at", "token_expires_at"]
    if response.scopes is not None:
        account.scopes = list(response.scopes)
        fields.append("scopes")
    if response.kept:
        account.provider_data = {**(account.provider_data or {}), **response.kept}
        fields.append("provider_data")
    return fields


def get_access_token(account: ConnectedAccount, *, reread: bool = True) -> str:
    """A valid access token for the account, refreshing it first when it is about to expire.

    Re-reads the row by default (another process may have refreshed it): one query on
    the fast path. `reread=False` trusts a row the caller loaded moments ago.
    """
    if reread:
        row = (
            ConnectedAccount.objects.filter(pk=account.pk)
            .values_list("status", "token_set_sealed", "token_issued_at", "token_expires_at")
            .first()
        )
        if row is None:
            raise NotFound("The connected account no longer exists.")
    else:
        row = (
            account.status,
            account.token_set_sealed,
            account.token_issued_at,
            account.token_expires_at,
        )
    status, sealed, issued_at, expires_at = row
    if status != AccountStatus.ACTIVE or not sealed:
        raise needs_reauthorization(account)
    if expires_soon(issued_at, expires_at):
        return refresh_access_token(account)
    return json.loads(open_sealed(sealed, aad=aad_for(account, "token_set_sealed")))["access_token"]


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
        locked = lock_account(account.pk)
        if locked.status != AccountStatus.ACTIVE:
            raise needs_reauthorization(locked)
        tokens = token_set(locked)
        if failed_access_token is None and not expires_soon(
            locked.token_issued_at, locked.token_expires_at
        ):
            return tokens["access_token"]
        if failed_access_token is not None and tokens.get("access_token") != failed_access_token:
            return tokens["access_token"]
        if not tokens.get("refresh_token") or locked.connection.provider_spec.refresh is None:
            expire(locked, "The provider gave no refresh token; authorize again.")
            failure = needs_reauthorization(locked)
        else:
            try:
                response = refresh(
                    locked.connection.oauth_config(), refresh_token=tokens["refresh_token"]
                )
            except ProviderRejected as exc:
                # We hold the lock and re-read the row: this refresh token really was refused.
                expire(
                    locked, f"The provider refused the refresh ({exc.message}); authorize again."
                )
                failure = needs_reauthorization(locked)
            except ProviderUnavailable as exc:
                locked.refresh_failure_count += 1
                locked.last_error = exc.message[:255]
                locked.save(update_fields=["refresh_failure_count", "last_error", "updated_at"])
                failure = exc
            else:
                fields = store_token_response(locked, response, previous=tokens)
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
                trail.record(
                    action="connected_account.refreshed",
                    organization=locked.organization,
                    actor=trail.Actor.system(),
                    identifier=locked.identifier,
                    target_type="connected_account",
                    target_id=locked.pk,
                    metadata={
                        "connection": locked.connection.name,
                        "expires_at": locked.token_expires_at,
                        "reason": "rejected token" if failed_access_token else "expiring",
                    },
                )
                return response.access_token
    raise failure


def expire(account: ConnectedAccount, reason: str) -> None:
    account.refresh_failure_count += 1
    account.last_error = reason[:255]
    change_status(
        account,
        AccountStatus.EXPIRED,
        reason,
        actor=trail.Actor.system(),
        extra_fields=("refresh_failure_count", "last_error"),
    )


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
