"""Access tokens: get, refresh (single flight), store, expire, and the proactive sweep.

DESIGN §4 flows 4–5, §7 rules 7–9. A refresh is single-flight by the account row's lock,
without holding a transaction while the provider answers:

1. A short transaction locks the row (SELECT … FOR UPDATE with a lock timeout on
   PostgreSQL; SQLite's IMMEDIATE transactions serialize writers), re-reads it and
   either returns a token a peer refreshed meanwhile, or *claims* the refresh
   (`refresh_claimed_at/by`). A caller that finds a live claim waits for its answer —
   at most WAIT_FOR_PEER_SECONDS, then a retryable 503 (`refresh_in_progress`).
2. The token endpoint is called with no transaction and, in workers, no connection held.
   While it waits, the claim is renewed every second (core/holds.py): a claim not
   renewed for 5 s belongs to a process that died, and is taken over.
3. The answer is written the moment it arrives (a second short transaction).

The provider's answer is the only copy of a rotated refresh token. A call that timed out,
or whose process died (its claim stopped being renewed), is recorded as "refresh outcome
unknown"; if the provider then refuses the old refresh token, the account's reason says a
rotation was lost, not that access was revoked. Where the catalog gives a reuse
grace (the provider still accepts the previous refresh token for a while), a timed-out
call is retried at once, inside the grace.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Now
from django.utils import timezone

from audit import trail
from audit.models import AuditEvent
from connections.accounts import (
    change_status,
    lock_account,
    needs_reauthorization,
    record_account_event,
    token_set,
)
from connections.errors import (
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
    ToolRateLimited,
)
from connections.models import AccountStatus, ConnectedAccount
from connections.oauth_client import TokenResponse, refresh
from connections.providers.catalog import Provider
from connections.vault import aad_for, open_sealed
from core import metrics
from core.dependencies import Unavailable
from core.errors import NotFound, PortalError
from core.holds import BEAT_SECONDS, Keeper, renewed_since

REFRESH_MARGIN = timedelta(minutes=5)
WAIT_STEP_SECONDS = 0.05
WAIT_FOR_PEER_SECONDS = 5.0


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
    account: ConnectedAccount,
    *,
    failed_access_token: str | None = None,
    issued_before: datetime | None = None,
) -> str:
    """A fresh access token; exactly one caller at a time talks to the provider.

    The refresh happens only if it is still needed when the row is locked: by default if
    the stored token is about to expire; with `failed_access_token` (the provider answered
    401 to it) if the stored token is still that one; with `issued_before` (keep-alive) if
    the stored token was issued before then. Otherwise a peer's token is returned as is.
    """
    return refresh_if_needed(
        account.pk, failed_access_token=failed_access_token, issued_before=issued_before
    )[0]


@dataclass
class _Claim:
    account: ConnectedAccount
    tokens: dict[str, Any]
    token: str  # who holds the claim: this call, nobody else
    reason: str


def refresh_if_needed(
    account_id: Any, *, failed_access_token: str | None, issued_before: datetime | None
) -> tuple[str, bool]:
    """(access token, whether this call refreshed it): the single-flight refresh of
    `refresh_access_token`, for callers that count what they did (connections/upkeep.py)."""
    give_up_at = time.monotonic() + WAIT_FOR_PEER_SECONDS
    while True:
        decided = _claim_or_answer(account_id, failed_access_token, issued_before)
        if isinstance(decided, str):
            return decided, False
        if isinstance(decided, _Claim):
            with _claims.held_while(decided.token):
                return _call_and_store(decided), True
        if time.monotonic() > give_up_at:
            raise Unavailable(
                "Another refresh of this account is still running; retry in a moment.",
                code="refresh_in_progress",
                retry_after=2,
            )
        time.sleep(WAIT_STEP_SECONDS)  # a peer holds the claim: its answer comes soon


def _claim_or_answer(
    account_id: Any, failed_access_token: str | None, issued_before: datetime | None
) -> str | _Claim | None:
    """In one short transaction: a token that needs no refresh, a claim to refresh, or None
    (a peer is refreshing: wait). Failures are raised after the transaction commits, so
    what they changed (an expired account) is kept."""
    failure: PortalError | None = None
    with transaction.atomic():
        try:
            locked = lock_account(account_id)
        except ConnectedAccount.DoesNotExist:
            raise NotFound("The connected account no longer exists.") from None
        if locked.status != AccountStatus.ACTIVE:
            raise needs_reauthorization(locked)
        tokens = token_set(locked)
        if failed_access_token is not None:
            if tokens.get("access_token") != failed_access_token:
                return tokens["access_token"]
            reason = "rejected token"
        elif issued_before is not None:
            if locked.token_issued_at is not None and locked.token_issued_at >= issued_before:
                return tokens["access_token"]
            reason = "keep-alive"
        else:
            if not expires_soon(locked.token_issued_at, locked.token_expires_at):
                return tokens["access_token"]
            reason = "expiring"
        if locked.refresh_claimed_at is not None:
            beating = ConnectedAccount.objects.filter(pk=locked.pk).filter(
                renewed_since("refresh_claimed_at")
            )
            if beating.exists():
                return None
            _outcome_unknown(locked, "the process refreshing it stopped before storing the answer")
        if not tokens.get("refresh_token") or locked.connection.provider_spec.refresh is None:
            expire(locked, "The provider gave no refresh token; authorize again.")
            failure = needs_reauthorization(locked)
        else:
            claim = _Claim(locked, tokens, f"{_PROCESS}:{uuid.uuid4().hex[:12]}", reason)
            ConnectedAccount.objects.filter(pk=locked.pk).update(
                refresh_claimed_at=Now(), refresh_claimed_by=claim.token
            )
            return claim
    raise failure


_PROCESS = f"{socket.gethostname()}:{os.getpid()}"


def _renew_claims(tokens: list[str]) -> None:
    ConnectedAccount.objects.filter(refresh_claimed_by__in=tokens).update(refresh_claimed_at=Now())


# Renews every claim this process holds while its token call runs (core/holds.py).
_claims = Keeper("refresh-claims", _renew_claims, beat=lambda: BEAT_SECONDS)


def _call_and_store(claim: _Claim) -> str:
    account = claim.account
    spec = account.connection.provider_spec.refresh
    # Within a reuse grace the previous refresh token still works: a timed-out call is
    # retried at once rather than left to guess whether the provider rotated.
    attempts = 2 if spec and spec.reuse_grace_seconds else 1
    for attempt in range(attempts):
        try:
            response = refresh(
                account.connection.oauth_config(), refresh_token=claim.tokens["refresh_token"]
            )
            break
        except ProviderTimeout as exc:
            if attempt + 1 < attempts:
                continue
            _release(claim, error=exc.message, unknown="the token endpoint did not answer in time")
            _counted(claim, "timeout")
            raise
        except ToolRateLimited:
            _release(claim)
            _counted(claim, "rate_limited")
            raise
        except ProviderUnavailable as exc:
            _release(claim, error=exc.message)
            _counted(claim, "unavailable")
            raise
        except ProviderRejected as exc:
            return _refused(claim, exc)
    stored = _store(claim, response)
    _counted(claim, "ok")
    return stored


def _counted(claim: _Claim, outcome: str) -> None:
    metrics.refresh(provider=claim.account.connection.provider, outcome=outcome)


def _store(claim: _Claim, response: TokenResponse) -> str:
    """Write the new tokens the moment they arrive, and let waiting callers go.

    One UPDATE, on the condition that the claim is still ours and the account still
    ACTIVE (the common case: no lock to take first). Otherwise the row is locked and read.
    """
    account = claim.account
    fields = store_token_response(account, response, previous=claim.tokens)
    now = timezone.now()
    values = {name: getattr(account, name) for name in fields}
    values.update(
        last_refreshed_at=now,
        refresh_failure_count=0,
        last_error="",
        refresh_outcome_unknown_at=None,
        refresh_claimed_at=None,
        refresh_claimed_by="",
        updated_at=now,
    )
    with transaction.atomic():
        stored = ConnectedAccount.objects.filter(
            pk=account.pk, refresh_claimed_by=claim.token, status=AccountStatus.ACTIVE
        ).update(**values)
        if not stored:
            locked = _relock(claim)
            if locked.status != AccountStatus.ACTIVE:
                # Disconnected meanwhile: the new tokens are not kept.
                _clear_claim(locked, claim)
                raise needs_reauthorization(locked)
            current = token_set(locked)
            if current.get("refresh_token") != claim.tokens.get("refresh_token"):
                return current["access_token"]  # a peer that took our claim for dead stored
            ConnectedAccount.objects.filter(pk=account.pk).update(**values)
        after_unknown: dict[str, Any] = (
            {"after_unknown_outcome": True} if account.refresh_outcome_unknown_at else {}
        )
        record_account_event(
            account,
            "connected_account.refreshed",
            actor=trail.Actor.system(),
            expires_at=account.token_expires_at,
            reason=claim.reason,
            **after_unknown,
        )
    return response.access_token


def _refused(claim: _Claim, exc: ProviderRejected) -> str:
    """The provider refused the refresh token. Re-read the row first: a newer pair stored
    meanwhile wins. Else the account expires, saying honestly why."""
    with transaction.atomic():
        locked = _relock(claim)
        current = token_set(locked)
        if locked.status == AccountStatus.ACTIVE and current.get(
            "refresh_token"
        ) != claim.tokens.get("refresh_token"):
            _clear_claim(locked, claim)
            return current["access_token"]
        spec = locked.connection.provider_spec.refresh
        lost = locked.refresh_outcome_unknown_at is not None and spec and spec.rotates
        _counted(claim, "lost_rotation" if lost else "refused")
        if lost:
            reason = (
                "A token rotation was lost: an earlier refresh's answer never reached the "
                "portal (it timed out or the portal stopped), and the provider then refused "
                "the previous refresh token. Reconnect to continue."
            )
        else:
            reason = f"The provider refused the refresh ({exc.message}); authorize again."
        locked.refresh_claimed_at = None
        locked.refresh_claimed_by = ""
        if locked.status == AccountStatus.ACTIVE:
            expire(locked, reason, extra_fields=("refresh_claimed_at", "refresh_claimed_by"))
        else:
            locked.save(update_fields=["refresh_claimed_at", "refresh_claimed_by"])
    raise needs_reauthorization(locked)


def _relock(claim: _Claim) -> ConnectedAccount:
    try:
        return lock_account(claim.account.pk)
    except ConnectedAccount.DoesNotExist:
        raise NotFound("The connected account no longer exists.") from None


def _clear_claim(account: ConnectedAccount, claim: _Claim) -> None:
    ConnectedAccount.objects.filter(pk=account.pk, refresh_claimed_by=claim.token).update(
        refresh_claimed_at=None, refresh_claimed_by=""
    )


def _release(claim: _Claim, *, error: str = "", unknown: str = "") -> None:
    """Give the claim up after a failed call; count the failure; note an unknown outcome."""
    with transaction.atomic():
        values: dict[str, Any] = {"refresh_claimed_at": None, "refresh_claimed_by": ""}
        if error:
            values["refresh_failure_count"] = F("refresh_failure_count") + 1
            values["last_error"] = error[:255]
        ConnectedAccount.objects.filter(pk=claim.account.pk, refresh_claimed_by=claim.token).update(
            **values
        )
        if unknown:
            _outcome_unknown(claim.account, unknown)


def _outcome_unknown(account: ConnectedAccount, why: str) -> None:
    metrics.refresh(provider=account.connection.provider, outcome="unknown")
    """Record that a refresh may have rotated the tokens without the portal storing them."""
    now = timezone.now()
    ConnectedAccount.objects.filter(pk=account.pk).update(refresh_outcome_unknown_at=now)
    account.refresh_outcome_unknown_at = now
    record_account_event(
        account,
        "connected_account.refresh_outcome_unknown",
        actor=trail.Actor.system(),
        outcome=AuditEvent.Outcome.FAILURE,
        reason=why,
    )


def expire(account: ConnectedAccount, reason: str, *, extra_fields: tuple[str, ...] = ()) -> None:
    account.refresh_failure_count += 1
    account.last_error = reason[:255]
    change_status(
        account,
        AccountStatus.EXPIRED,
        reason,
        actor=trail.Actor.system(),
        extra_fields=("refresh_failure_count", "last_error", *extra_fields),
    )
