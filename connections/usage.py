"""What an organization used, per day, as the usage page draws it (rows counted by
connections/budgets.py). One query per chart, grouped in the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Sum

from connections import budgets
from connections.models import Budget, UsageDay
from portal.models import Organization

METRICS = ("tokens", "tool_calls", "denials")
DIMENSIONS = ("agent", "provider", "identifier")
MAX_SERIES = 6  # the rest is drawn as "other"


@dataclass(frozen=True)
class Series:
    name: str
    values: list[int]  # one per day

    @property
    def total(self) -> int:
        return sum(self.values)


@dataclass(frozen=True)
class Daily:
    metric: str
    by: str
    days: list[date]
    series: list[Series]

    @property
    def total(self) -> int:
        return sum(s.total for s in self.series)


def daily(organization: Organization, *, metric: str, by: str, days: int = 30) -> Daily:
    """`metric` per day for the last `days` days, one series per `by` value (largest first;
    beyond MAX_SERIES summed into "other")."""
    assert metric in METRICS and by in DIMENSIONS
    last = budgets.today()
    first = last - timedelta(days=days - 1)
    rows = (
        UsageDay.objects.for_org(organization)
        .filter(day__gte=first, day__lte=last)
        .values("day", by)
        .annotate(amount=Sum(metric))
        .filter(amount__gt=0)
    )
    calendar = [first + timedelta(days=i) for i in range(days)]
    position = {day: i for i, day in enumerate(calendar)}
    found: dict[str, list[int]] = {}
    for row in rows:
        name = row[by] or {"agent": "(no agent)", "provider": "(model)"}.get(by, "(none)")
        found.setdefault(name, [0] * days)[position[row["day"]]] += row["amount"]
    ranked = sorted(found.items(), key=lambda item: (-sum(item[1]), item[0]))
    series = [Series(name, values) for name, values in ranked[:MAX_SERIES]]
    if len(ranked) > MAX_SERIES:
        rest = [sum(values[i] for _, values in ranked[MAX_SERIES:]) for i in range(days)]
        series.append(Series("other", rest))
    return Daily(metric, by, calendar, series)


@dataclass(frozen=True)
class BudgetUse:
    budget: Budget
    used: int

    @property
    def percent(self) -> int:
        if not self.budget.limit:
            return 100
        return min(100, round(100 * self.used / self.budget.limit))


def budget_uses(organization: Organization) -> list[BudgetUse]:
    """Each budget with what its subject used in the current day or month (for a budget on
    each agent or member: the largest user's)."""
    listed = list(budgets.budgets_of(organization))
    if not listed:
        return []
    day = budgets.today()
    month_start = day.replace(day=1)
    rows = list(
        UsageDay.objects.for_org(organization)
        .filter(day__gte=min(month_start, day))
        .values("day", "agent", "identifier")
        .annotate(tokens=Sum("tokens"), tool_calls=Sum("tool_calls"))
    )
    uses = []
    for budget in listed:
        start = month_start if budget.period == Budget.Period.MONTH else day
        field = {"organization": None, "agent": "agent", "member": "identifier"}[budget.scope]
        per: dict[str, int] = {}
        for row in rows:
            if row["day"] < start:
                continue
            key = row[field] if field else ""
            if field and (not key or (budget.subject and key != budget.subject)):
                continue
            per[key] = per.get(key, 0) + row[budget.metric]
        uses.append(BudgetUse(budget, max(per.values(), default=0)))
    return uses
