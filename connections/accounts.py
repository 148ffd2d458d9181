"""Connected accounts: get-or-create, status changes, which account a call uses,
the default among several, and disconnect (DESIGN §4 flows 1 and 6).

An identifier may hold several accounts on one connection (work and personal),
told apart by who they are at the provider (`provider_account_id`); one of them
is the default. A pending first authorization is the row whose provider id is
still "".
"""

from __future__ import annotations

import json
from typing import Any

from django.db import IntegrityError, transaction
from django.db import connection as db_connection
from django.http import HttpRequest

from audit import trail
from audit.models import AuditEvent
from connections import oauth_client
from connections.errors import NeedsReauthorization
from connections.models import AccountStatus, ConnectedAccount, Connection
from core.errors import Conflict, Invalid, NotFound
from core.tenancy import CallerLike
from portal.identifiers import member_for_identifier, validate_identifier

LOCK_TIMEOUT_MS = 15_000


def get_or_create_connected_account(
    *,
    organization: Any,
    connection: Connection,
    identifier: str,
    request: HttpRequest | None = None,
) -> tuple[ConnectedAccount, bool]:
    """The identifier's account on the connection (the default one when it has several),
    or a new PENDING_AUTH one."""
    identifier = validate_identifier(identifier)
    existing = ConnectedAccount.objects.for_org(organization).filter(
        connection=connection, identifier=identifier
    )
    account = existing.order_by("-is_default", "-updated_at").first()
    if account is not None:
        return account, False
    try:
        with transaction.atomic():
            account = ConnectedAccount.objects.create(
                organization=organization,
                connection=connection,
                identifier=identifier,
                user=member_for_identifier(organization, identifier),
            )
            record_account_event(
                account, "connected_account.created", request=request, status=account.status
            )
    except IntegrityError:  # a concurrent caller created it first
        return existing.get(provider_account_id=""), False
    return account, True


def record_account_event(
    account: ConnectedAccount,
    action: str,
    *,
    actor: trail.Actor | None = None,
    caller: CallerLike | None = None,
    request: HttpRequest | None = None,
    outcome: str = AuditEvent.Outcome.SUCCESS,
    **metadata: Any,
) -> AuditEvent:
    """Audit one event about a connected account: its organization, identifier, target
    and connection name come from the account; `metadata` adds the rest."""
    return trail.record(
        action=action,
        organization=account.organization,
        actor=actor,
        caller=caller,
        request=request,
        identifier=account.identifier,
        target_type="connected_account",
        target_id=account.pk,
        outcome=outcome,
        metadata={"connection": account.connection.name, **metadata},
    )


def token_set(account: ConnectedAccount) -> dict[str, Any]:
    """The account's sealed token set, opened ({} when there is none)."""
    sealed = account.get_secret("token_set_sealed")
    return json.loads(sealed) if sealed else {}


def lock_account(account_id: Any) -> ConnectedAccount:
    """SELECT … FOR UPDATE the account (inside the caller's transaction), with a lock
    timeout on PostgreSQL so a slow provider cannot pin waiters (and the pool) forever."""
    if db_connection.vendor == "postgresql":
        with db_connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = {int(LOCK_TIMEOUT_MS)}")
    return (
        ConnectedAccount.objects.select_for_update(of=("self",))
        .select_related("connection", "organization")
        .get(pk=account_id)
    )


def change_status(
    account: ConnectedAccount,
    status: str,
    reason: str = "",
    *,
    request: HttpRequest | None = None,
    actor: trail.Actor | None = None,
    extra_fields: tuple[str, ...] = (),
) -> None:
    """Save a status change (with any other changed fields) and audit old → new."""
    old = account.status
    account.status = status
    account.status_reason = reason[:255]
    account.save(update_fields=["status", "status_reason", "updated_at", *extra_fields])
    record_account_event(
        account,
        "connected_account.status_changed",
        actor=actor,
        request=request,
        old_status=old,
        new_status=status,
        reason=reason,
    )


def needs_reauthorization(account: ConnectedAccount) -> NeedsReauthorization:
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


def choose_account(candidates: list[ConnectedAccount], account_id: Any = None) -> ConnectedAccount:
    """Which of an identifier's accounts on one connection a call uses: the one named,
    else the only one, else the default."""
    if account_id:
        chosen = next((a for a in candidates if str(a.pk) == str(account_id)), None)
        if chosen is None:
            raise NotFound(
                "No such connected account for this identifier.", code="account_not_found"
            )
        return chosen
    if len(candidates) == 1:
        return candidates[0]
    default = next((a for a in candidates if a.is_default), None)
    if default is None:
        raise Conflict(
            "This identifier has several accounts here and none is the default: pass account_id.",
            code="account_ambiguous",
            details={"accounts": [_summary(a) for a in candidates]},
        )
    return default


def _summary(account: ConnectedAccount) -> dict[str, str]:
    return {"id": str(account.pk), "label": account.display_label, "status": account.status}


def set_default(*, account: ConnectedAccount, request: HttpRequest | None = None) -> None:
    """Make this account the one its identifier's calls use on its connection (an active
    one only: a default that cannot call would fail every call that relies on it)."""
    if account.status != AccountStatus.ACTIVE:
        raise Invalid("Only an active account can be the default.", code="account_not_active")
    with transaction.atomic():
        ConnectedAccount.objects.for_org(account.organization).filter(
            connection=account.connection_id, identifier=account.identifier
        ).exclude(pk=account.pk).update(is_default=False)
        ConnectedAccount.objects.filter(pk=account.pk).update(is_default=True)
        account.is_default = True
        record_account_event(
            account,
            "connected_account.default_changed",
            request=request,
            label=account.display_label,
        )


def revoke_at_provider(account: ConnectedAccount) -> tuple[bool, str]:
    """Best effort; (revoked, why not). Never raises."""
    tokens = token_set(account)
    if not tokens:
        return False, ""
    return oauth_client.revoke(
        account.connection.oauth_config(), tokens=tokens, kept=account.provider_data
    )


def disconnect(
    *,
    account: ConnectedAccount,
    request: HttpRequest | None = None,
    actor: trail.Actor | None = None,
    reason: str = "Disconnected",
) -> ConnectedAccount:
    """Revoke at the provider (best effort), erase the sealed tokens, mark DISCONNECTED."""
    revoked, revoke_error = revoke_at_provider(account)
    has_revoke = account.connection.provider_spec.revoke is not None
    with transaction.atomic():
        locked = lock_account(account.pk)
        locked.set_secret("token_set_sealed", None)
        locked.token_expires_at = None
        locked.scopes = []
        change_status(
            locked,
            AccountStatus.DISCONNECTED,
            reason + ("" if revoked or not has_revoke else " (revocation at the provider failed)"),
            request=request,
            actor=actor,
            extra_fields=("token_set_sealed", "token_expires_at", "scopes"),
        )
        record_account_event(
            locked,
            "connected_account.disconnected",
            actor=actor,
            request=request,
            revoked_at_provider=revoked,
            revoke_error=revoke_error,
        )
    return locked
