"""Reads: the connections and connected accounts a caller sees, and the rows of the
connect page (their filters: filters.py)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet

from connections.models import AccountStatus, ConnectedAccount, Connection
from core.tenancy import as_uuid
from portal.callers import Caller


def connections_of(*, organization: Any) -> QuerySet[Connection]:
    return Connection.objects.for_org(organization)


def connection_names(*, organization: Any) -> list[str]:
    return list(connections_of(organization=organization).values_list("name", flat=True))


def account_status_counts(*, connection: Connection) -> dict[str, int]:
    rows = connection.accounts.values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}


def accounts_visible_to(*, caller: Caller) -> QuerySet[ConnectedAccount]:
    """API keys and owners/admins on the admin pages: every account of the organization;
    people: their own identifier's."""
    visible = ConnectedAccount.objects.for_org(caller.organization).select_related(
        "connection", "organization"
    )
    if not caller.is_api_key:
        visible = visible.filter(identifier=caller.identifier)
    return visible


def all_accounts(*, organization: Any) -> QuerySet[ConnectedAccount]:
    """Every account of the organization (the admin list), with whose it is."""
    return ConnectedAccount.objects.for_org(organization).select_related(
        "connection", "organization", "user"
    )


def account_for(*, caller: Caller, account_id: Any) -> ConnectedAccount | None:
    """One account the caller sees, else None."""
    account_uuid = as_uuid(account_id)
    if account_uuid is None:
        return None
    return accounts_visible_to(caller=caller).filter(pk=account_uuid).first()


def own_account(
    *, caller: Caller, connection: Connection, account_id: Any = ""
) -> ConnectedAccount | None:
    """The caller's own account on a connection: the one named, else their default."""
    own = accounts_visible_to(caller=caller).filter(
        connection=connection, identifier=caller.identifier
    )
    if account_id:
        account_uuid = as_uuid(account_id)
        return own.filter(pk=account_uuid).first() if account_uuid else None
    return own.order_by("-is_default", "-updated_at").first()


def connect_page_rows(*, caller: Caller) -> list[tuple[Connection, list[ConnectedAccount]]]:
    """Each enabled connection with the caller's accounts on it (leaving out the rows of
    authorizations never finished, and disconnected ones nobody connected)."""
    mine: dict[Any, list[ConnectedAccount]] = {}
    for account in (
        ConnectedAccount.objects.for_org(caller.organization)
        .filter(identifier=caller.identifier)
        .order_by("-is_default", "created_at")
    ):
        shown = account.provider_account_id or account.status not in (
            AccountStatus.PENDING_AUTH,
            AccountStatus.DISCONNECTED,
        )
        if shown:
            mine.setdefault(account.connection_id, []).append(account)
    enabled = connections_of(organization=caller.organization).filter(enabled=True)
    return [(connection, mine.get(connection.pk, [])) for connection in enabled]
