"""Which connected account a tool call uses: the caller's accounts for the tool's
provider (on the named connection, if any), the one named or the default among them, and
the reconnect link when none can be used.

The lookup runs on every tool call: it is compiled once (core/prepared.py), and it may be
sent ahead (`look_up_ahead`) or run before a statement held for later (core/db.py) — it
reads accounts only, which nothing held writes.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from connections import accounts, authorization
from connections.errors import NeedsReauthorization
from connections.models import AccountStatus, ConnectedAccount
from core.db import independent
from core.errors import Conflict, NotFound
from core.prepared import PreparedQuery
from portal.callers import Caller
from portal.models import Organization


def _accounts_for_tool(org: Any, identifier: str, provider: str, connection_name: str = "") -> Any:
    accounts_ = (
        ConnectedAccount.objects.for_org(org)
        .filter(identifier=identifier, connection__provider=provider, connection__enabled=True)
        .select_related("connection")
        .order_by("connection__name", "-is_default", "-updated_at")
    )
    if connection_name:
        accounts_ = accounts_.filter(connection__name=connection_name)
    return accounts_[:20]


# Every tool call starts here; compiled once (core/prepared.py explains why).
_ACCOUNTS_FOR_TOOL = PreparedQuery(
    _accounts_for_tool, org=Organization, identifier=str, provider=str
)
_ACCOUNTS_FOR_TOOL_ON_CONNECTION = PreparedQuery(
    _accounts_for_tool, org=Organization, identifier=str, provider=str, connection_name=str
)


def _accounts_query(
    caller: Caller, provider: str, connection_name: str | None
) -> tuple[PreparedQuery, dict[str, Any]]:
    """The account lookup of a call and its values."""
    values = {"org": caller.organization, "identifier": caller.identifier, "provider": provider}
    if connection_name:
        return _ACCOUNTS_FOR_TOOL_ON_CONNECTION, {**values, "connection_name": connection_name}
    return _ACCOUNTS_FOR_TOOL, values


def look_up_ahead(*, caller: Caller, provider: str, connection_name: str | None) -> None:
    """Send the account lookup of a call about to be made without waiting for it
    (core/db.read_ahead): it runs while the caller finishes what comes first, and the
    call's `resolve_account` takes its answer (a different call: it is dropped)."""
    query, values = _accounts_query(caller, provider, connection_name)
    query.read_ahead(**values)


def resolve_account(
    *, caller: Caller, provider: str, connection_name: str | None, account_id: Any = None
) -> ConnectedAccount:
    """The account a call for this provider uses: on the named connection (or the only
    one the caller has), the named account (or the only one, or the default)."""
    query, values = _accounts_query(caller, provider, connection_name)
    with independent():  # may run before a statement held (core/db.py): it reads accounts
        candidates = query.run(**values)
    for candidate in candidates:
        candidate.organization = caller.organization  # known already: no join, no query
    if not candidates:
        raise NotFound(
            f"{caller.identifier!r} has no {provider} account connected.",
            code="no_connected_account",
            details={"provider": provider, "identifier": caller.identifier},
        )
    connection_names = sorted({c.connection.name for c in candidates})
    if len(connection_names) > 1:
        live = sorted({c.connection.name for c in candidates if c.status == AccountStatus.ACTIVE})
        if len(live) != 1:
            raise Conflict(
                f"{caller.identifier!r} has {provider} accounts on several connections: "
                "name one (connection_name, or the qualified tool name).",
                code="connection_ambiguous",
                details={"connections": connection_names},
            )
        candidates = [c for c in candidates if c.connection.name == live[0]]
    caller.check_may_use(candidates[0].connection)
    active = [a for a in candidates if a.status == AccountStatus.ACTIVE]
    if not active:
        raise with_reconnect_link(accounts.needs_reauthorization(candidates[0]), candidates[0])
    return accounts.choose_account(active, account_id)


def with_reconnect_link(
    error: NeedsReauthorization, account: ConnectedAccount, *, request: HttpRequest | None = None
) -> NeedsReauthorization:
    """The error, with a link for the account's owner to authorize again (when they are a
    portal user who can finish it). Made here, after the transaction that found the
    problem: a link made inside it would vanish with it."""
    error.details = {
        **(error.details or {}),
        "status": account.status,
        "authorization_link": authorization.reconnect_link(account=account, request=request),
    }
    return error
