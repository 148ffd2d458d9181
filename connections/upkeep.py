"""Proactive token upkeep: which accounts are due (expiring soon, or idle past the
catalog's keep-alive), and refreshing a batch of them, each single-flight
(connections/tokens.py). connections/tasks.py fans batches out over the workers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from connections.errors import NeedsReauthorization, ProviderUnavailable, ToolRateLimited
from connections.models import AccountStatus, ConnectedAccount
from connections.providers import providers
from connections.tokens import REFRESH_MARGIN, refresh_if_needed
from core.errors import NotFound


def due_account_ids() -> list:
    """ACTIVE accounts whose token expires within the refresh margin."""
    return list(
        ConnectedAccount.objects.filter(
            status=AccountStatus.ACTIVE, token_expires_at__lte=timezone.now() + REFRESH_MARGIN
        )
        .order_by("token_expires_at")
        .values_list("pk", flat=True)
    )


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
