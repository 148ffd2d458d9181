"""Proactive token upkeep: which accounts are due (expiring soon, or idle past the
catalog's keep-alive), and refreshing a batch of them, each single-flight
(connections/tokens.py). connections/tasks.py fans batches out over the workers."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from connections.errors import NeedsReauthorization, ProviderUnavailable, ToolRateLimited
from connections.models import AccountStatus, ConnectedAccount
from connections.providers import providers
from connections.tokens import REFRESH_MARGIN, refresh_if_needed
from core.errors import NotFound
from portal.models import Organization

# The due scan walks organizations in pages: per organization one probe of the index
# account_due (organization, token_expires_at) WHERE status = 'active' — led by the
# organization like every index of an organization's rows (ready for sharding by it),
# and a page costs the same however many accounts and organizations there are.
DUE_PAGE_ORGANIZATIONS = 1000
DUE_PER_ORGANIZATION = 1000  # an organization's others are still due at the next scan


@dataclass(frozen=True)
class DuePage:
    account_ids: list
    next_after: int | None  # the organization id to continue after; None: the scan is done


def due_page(*, after: int = 0, organizations: int = DUE_PAGE_ORGANIZATIONS) -> DuePage:
    """ACTIVE accounts whose token expires within the refresh margin, of the next
    `organizations` organizations (by id) after `after`, each one's soonest first."""
    if connection.vendor != "postgresql":  # no LATERAL: one query over the page's organizations
        page = list(
            Organization.objects.filter(pk__gt=after)
            .order_by("pk")[:organizations]
            .values_list("pk", flat=True)
        )
        ids = list(
            ConnectedAccount.objects.filter(
                organization_id__in=page,
                status=AccountStatus.ACTIVE,
                token_expires_at__lte=timezone.now() + REFRESH_MARGIN,
            )
            .order_by("organization_id", "token_expires_at")
            .values_list("pk", flat=True)
        )
        return DuePage(ids, page[-1] if len(page) == organizations else None)
    with connection.cursor() as cursor:
        cursor.execute(*due_page_statement(after=after, organizations=organizations))
        rows = cursor.fetchall()
    ids = [account_id for _, account_id in rows if account_id is not None]
    seen = len({organization_id for organization_id, _ in rows})
    return DuePage(ids, rows[-1][0] if seen == organizations else None)


def due_page_statement(*, after: int, organizations: int) -> tuple[str, list]:
    """PostgreSQL: a page's one statement (its plan is in bench.scale's output)."""
    accounts_table = ConnectedAccount._meta.db_table
    organizations_table = Organization._meta.db_table
    sql = (
        f"SELECT o.id, due.id FROM (SELECT id FROM {organizations_table} "  # noqa: S608 (table names from the models)
        "WHERE id > %s ORDER BY id LIMIT %s) o "
        "LEFT JOIN LATERAL (SELECT a.id FROM "
        f"{accounts_table} a WHERE a.organization_id = o.id AND a.status = %s "
        "AND a.token_expires_at <= %s ORDER BY a.token_expires_at LIMIT %s) due ON true "
        "ORDER BY o.id"
    )
    due_by = timezone.now() + REFRESH_MARGIN
    return sql, [after, organizations, AccountStatus.ACTIVE, due_by, DUE_PER_ORGANIZATION]


def due_pages(*, organizations: int = DUE_PAGE_ORGANIZATIONS) -> Iterator[list]:
    """Every organization's due accounts, a page at a time."""
    after: int | None = 0
    while after is not None:
        page = due_page(after=after, organizations=organizations)
        yield page.account_ids
        after = page.next_after


def due_account_ids() -> list:
    """Every organization's due accounts (all pages: for the command and the tests)."""
    return [pk for page in due_pages() for pk in page]


def idle_accounts() -> list[tuple[Any, datetime]]:
    """(account id, cutoff) for ACTIVE accounts whose refresh token dies when unused
    (the catalog's `keepalive_days`) and was last renewed before the cutoff."""
    now = timezone.now()
    idle = []
    for key, provider in providers().items():
        days = provider.refresh.keepalive_days if provider.refresh else None
        if not days:
            continue
        cutoff = now - timedelta(days=days)
        ids = ConnectedAccount.objects.filter(
            status=AccountStatus.ACTIVE, connection__provider=key, token_issued_at__lt=cutoff
        ).values_list("pk", flat=True)
        idle += [(pk, cutoff) for pk in ids]
    return idle


@dataclass
class Upkeep:
    """What a batch of refreshes did; `retry` and `deferred` go back on the queue."""

    refreshed: int = 0
    current: int = 0  # nothing to do: a peer refreshed it, or it is not due any more
    expired: int = 0
    retry: list[str] = field(default_factory=list)  # the provider failed: back off
    deferred: list[str] = field(default_factory=list)  # the provider rate limited us
    retry_after: int | None = None

    def as_dict(self) -> dict[str, int]:
        return {
            "refreshed": self.refreshed,
            "current": self.current,
            "expired": self.expired,
            "failed": len(self.retry),
            "rate_limited": len(self.deferred),
        }


def upkeep(account_ids: Iterable[Any], *, issued_before: datetime | None = None) -> Upkeep:
    """Refresh these accounts if they still need it (each single-flight, so a batch that
    a second scheduler also queued refreshes nothing twice). After a 429 the rest of the
    batch on that provider is deferred, not hammered."""
    report = Upkeep()
    limited: set[str] = set()
    rows = ConnectedAccount.objects.filter(pk__in=list(account_ids)).values_list(
        "pk", "connection__provider"
    )
    for pk, provider in rows:
        if provider in limited:
            report.deferred.append(str(pk))
            continue
        try:
            _, refreshed = refresh_if_needed(
                pk, failed_access_token=None, issued_before=issued_before
            )
        except (NeedsReauthorization, NotFound):
            report.expired += 1
        except ToolRateLimited as exc:
            limited.add(provider)
            report.deferred.append(str(pk))
            report.retry_after = max(report.retry_after or 0, exc.retry_after or 0) or None
        except ProviderUnavailable:
            report.retry.append(str(pk))
        else:
            report.refreshed += refreshed
            report.current += not refreshed
    return report
