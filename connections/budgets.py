"""Budgets and usage (issue 26): what an organization uses, counted as it happens, and the
ceilings an admin sets on it.

Usage is one row per organization, day (UTC), agent, member and provider
(`UsageDay`), added to with one upsert per tool call (connections/tools.py, the proxy)
and per model call (agents/runner.py): the usage page and the budget checks read these
rows, never the audit log.

A budget caps model tokens or tool calls per day or month, for the organization, an
agent (or each agent) or a member (or each member). A tool call beyond one is refused
with 429 `budget_exceeded` on every path; an agent run that reaches one stops with
`budget_exceeded`. Budgets are loaded with the organization's policy (one query when
they changed, none otherwise), and checked with one query only when there are any.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, QuerySet, Sum
from django.http import HttpRequest
from django.utils import timezone

from audit import trail
from connections.errors import ToolRateLimited
from connections.models import Budget, UsageDay
from connections.policy import changed as policy_changed
from core.errors import Invalid, NotFound
from core.tenancy import as_uuid
from portal.callers import Caller
from portal.models import Organization

MAX_BUDGETS = 200
HISTORY_DAYS = 400


class BudgetExceeded(ToolRateLimited):
    code = "budget_exceeded"


@dataclass(frozen=True)
class Spender:
    """Who a call or a model call counts against."""

    organization: Organization
    identifier: str = ""
    agent: str = ""


def today() -> date:
    return timezone.now().date()


def _table() -> str:
    return connection.ops.quote_name(UsageDay._meta.db_table)


COUNTED = ("tokens", "tool_calls", "denials", "attempts", "failures")


def counting(spender: Spender, *, provider: str = "", **amounts: int) -> trail.Statement | None:
    """The statement that adds `amounts` (of COUNTED) to the day's usage row (an upsert,
    whichever the database); None when there is nothing to add."""
    values = [int(amounts.pop(name, 0)) for name in COUNTED]
    if amounts:
        raise TypeError(f"not counted: {', '.join(amounts)}")
    if not any(values):
        return None
    table = _table()
    added = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in COUNTED)
    sql = (
        f"INSERT INTO {table} (organization_id, day, agent, identifier, provider, "  # noqa: S608 (table and column names from the model)
        f"{', '.join(COUNTED)}) VALUES (%s, %s, %s, %s, %s, {', '.join(['%s'] * len(COUNTED))}) "
        "ON CONFLICT (organization_id, day, agent, identifier, provider) DO UPDATE SET " + added
    )
    who = [spender.organization.pk, today(), spender.agent[:100], spender.identifier[:255]]
    return sql, [*who, provider[:40], *values]


def count(spender: Spender, *, provider: str = "", **amounts: int) -> None:
    """Add `amounts` (of COUNTED) to the day's usage row: one statement."""
    statement = counting(spender, provider=provider, **amounts)
    if statement is not None:
        with connection.cursor() as cursor:
            cursor.execute(*statement)


def _period_start(period: str) -> date:
    day = today()
    return day.replace(day=1) if period == Budget.Period.MONTH else day


def _applies(budget: Budget, spender: Spender) -> bool:
    if budget.scope == Budget.Scope.AGENT:
        return bool(spender.agent) and budget.subject in ("", spender.agent)
    if budget.scope == Budget.Scope.MEMBER:
        return bool(spender.identifier) and budget.subject in ("", spender.identifier)
    return True


def check(spender: Spender, *, metric: str, budgets: list[Budget]) -> None:
    """Raise BudgetExceeded when `spender` has used all of a budget on `metric`."""
    applying = [b for b in budgets if b.metric == metric and _applies(b, spender)]
    if not applying:
        return
    month_start = _period_start(Budget.Period.MONTH)
    day = today()
    field = "tokens" if metric == Budget.Metric.TOKENS else "tool_calls"
    sums: dict[str, Any] = {}
    for scope, who in (
        ("organization", Q()),
        ("agent", Q(agent=spender.agent)),
        ("member", Q(identifier=spender.identifier)),
    ):
        if any(b.scope == scope for b in applying):
            sums[f"{scope}_month"] = Sum(field, filter=who)
            sums[f"{scope}_day"] = Sum(field, filter=who & Q(day=day))
    used = UsageDay.objects.for_org(spender.organization).filter(day__gte=min(month_start, day))
    totals = used.aggregate(**sums)
    for budget in applying:
        spent = totals.get(f"{budget.scope}_{budget.period}") or 0
        if spent >= budget.limit:
            raise BudgetExceeded(
                f"The {describe(budget)} budget is used up ({spent:,} of {budget.limit:,}).",
                retry_after=_seconds_to_next(budget.period),
            ).with_details(budget_id=str(budget.pk))


def _seconds_to_next(period: str) -> int:
    now = timezone.now()
    day = now.date()
    if period == Budget.Period.MONTH:
        following = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
    else:
        following = day + timedelta(days=1)
    start = datetime.combine(following, time.min, tzinfo=now.tzinfo)
    return max(1, int((start - now).total_seconds()))


def describe(budget: Budget) -> str:
    if budget.scope == Budget.Scope.AGENT:
        who = f"agent {budget.subject}'s" if budget.subject else "per-agent"
    elif budget.scope == Budget.Scope.MEMBER:
        who = f"{budget.subject}'s" if budget.subject else "per-member"
    else:
        who = "organization's"
    what = "model-token" if budget.metric == Budget.Metric.TOKENS else "tool-call"
    period = "daily" if budget.period == Budget.Period.DAY else "monthly"
    return f"{who} {period} {what}"


# --- Managing budgets ------------------------------------------------------------------------


def budgets_of(organization: Organization) -> QuerySet[Budget]:
    return Budget.objects.for_org(organization)


def get_budget(*, organization: Organization, budget_id: Any) -> Budget:
    key = as_uuid(budget_id)
    budget = budgets_of(organization).filter(pk=key).first() if key else None
    if budget is None:
        raise NotFound("No such budget.", code="budget_not_found")
    return budget


def _choice(values: dict[str, Any], field: str, choices: Any) -> str:
    value = values.get(field)
    if value not in choices.values:
        raise Invalid(
            f"{field} is one of {', '.join(choices.values)}.",
            code="invalid_budget",
            details={"field": field},
        )
    return str(value)


def create_budget(*, caller: Caller, request: HttpRequest | None = None, **values: Any) -> Budget:
    caller.require_manager()
    scope = _choice(values, "scope", Budget.Scope)
    subject = values.get("subject") or ""
    if not isinstance(subject, str) or len(subject) > 255:
        raise Invalid("subject is an agent's name or a member's identifier.", code="invalid_budget")
    if scope == Budget.Scope.ORGANIZATION:
        subject = ""
    limit = values.get("limit")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= 10**15:
        raise Invalid("limit is a whole number, 0 or more.", code="invalid_budget")
    organization = caller.organization
    budget = Budget(
        organization=organization,
        scope=scope,
        subject=subject.strip(),
        metric=_choice(values, "metric", Budget.Metric),
        period=_choice(values, "period", Budget.Period),
        limit=limit,
    )
    existing = budgets_of(organization)
    if existing.count() >= MAX_BUDGETS:
        raise Invalid(
            f"An organization has {MAX_BUDGETS} budgets at most.", code="too_many_budgets"
        )
    with transaction.atomic():
        # One budget per scope, subject, metric and period: setting it again replaces it.
        existing.filter(
            scope=budget.scope, subject=budget.subject, metric=budget.metric, period=budget.period
        ).delete()
        budget.save(force_insert=True)
        policy_changed(organization)
        _audit("budget.set", budget, caller, request)
    return budget


def delete_budget(*, caller: Caller, budget: Budget, request: HttpRequest | None = None) -> None:
    caller.require_manager()
    with transaction.atomic():
        _audit("budget.deleted", budget, caller, request)
        policy_changed(caller.organization)
        budget.delete()


def _audit(action: str, budget: Budget, caller: Caller, request: HttpRequest | None) -> None:
    trail.record(
        action=action,
        organization=caller.organization,
        caller=caller,
        request=request,
        target_type="budget",
        target_id=str(budget.pk),
        metadata={
            "scope": budget.scope,
            "subject": budget.subject,
            "metric": budget.metric,
            "period": budget.period,
            "limit": budget.limit,
        },
    )


def prune_usage(*, keep_days: int = HISTORY_DAYS) -> int:
    deleted, _ = UsageDay.objects.filter(day__lt=today() - timedelta(days=keep_days)).delete()
    return deleted
