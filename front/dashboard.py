"""The dashboard's numbers. Each summary costs a fixed number of queries, whatever the
size of the organization (tests/portal/test_dashboard.py counts them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db.models import Count, Exists, Q, Sum
from django.utils import timezone

from agents.models import AgentRun
from agents.selectors import runs_visible_to
from connections.models import AccountStatus, ConnectedAccount, Connection, UsageDay

ATTENTION_LIMIT = 10
RECENT_RUNS = 8
CHART_DAYS = 7
TOOL_ACTION = "tool.executed"
BASELINE, BAR_SPACE = 95, 88  # SVG units: bars stand on y=95 and are at most 88 tall


def _needs_attention() -> Q:
    return Q(status=AccountStatus.EXPIRED) | Q(
        status=AccountStatus.ACTIVE, refresh_failure_count__gt=0
    )


@dataclass
class DayBar:
    day: Any
    total: int
    failures: int
    # Geometry of the server-rendered SVG chart (viewBox 0 0 280 112).
    x: float = 0
    width: float = 0
    height: float = 0
    failure_height: float = 0

    @property
    def y(self) -> float:
        return round(BASELINE - self.height, 1)

    @property
    def failure_y(self) -> float:
        return round(BASELINE - self.failure_height, 1)


@dataclass
class ToolActivity:
    today: int = 0  # the UTC day so far
    failures_today: int = 0
    last_7d: int = 0
    failures_7d: int = 0
    days: list[DayBar] = field(default_factory=list)
    peak: int = 0


def tool_activity(org, *, now=None) -> ToolActivity:
    """Tool executions and failures (failed or denied) today and over 7 days, per UTC day
    from the usage rows (connections/budgets.py: one row per day, agent, member and
    provider): one query, the same cost at any audit volume. "Today" is the UTC day so
    far, not a rolling 24 hours: a rolling window would have to count the audit log,
    which at 30,000 calls a day made the page cost 250 ms (bench.scale)."""
    now = now or timezone.now()
    start = (now - timedelta(days=CHART_DAYS - 1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    rows = (
        UsageDay.objects.for_org(org)
        .filter(day__gte=start.date())
        .values("day")
        .annotate(total=Sum("attempts"), failures=Sum("failures"))
    )
    by_day = {row["day"]: row for row in rows}
    activity = ToolActivity()
    for offset in range(CHART_DAYS):
        day = (start + timedelta(days=offset)).date()
        row = by_day.get(day, {"total": 0, "failures": 0})
        activity.days.append(DayBar(day=day, total=row["total"], failures=row["failures"]))
    activity.today, activity.failures_today = activity.days[-1].total, activity.days[-1].failures
    activity.last_7d = sum(bar.total for bar in activity.days)
    activity.failures_7d = sum(bar.failures for bar in activity.days)
    activity.peak = max((bar.total for bar in activity.days), default=0)
    slot = 280 / CHART_DAYS
    for index, bar in enumerate(activity.days):
        bar.x = round(index * slot + 4, 1)
        bar.width = round(slot - 8, 1)
        bar.height = round(BAR_SPACE * bar.total / activity.peak, 1) if activity.peak else 0
        bar.failure_height = (
            round(BAR_SPACE * bar.failures / activity.peak, 1) if activity.peak else 0
        )
    return activity


@dataclass(frozen=True)
class SetupStep:
    title: str
    hint: str
    url_name: str
    done: bool
    code: str = ""  # a command to copy, shown under the hint


def setup_steps(org, user) -> list[SetupStep]:
    """The first-run checklist for owners/admins: one query, shown until every step is done."""
    from agents.models import Agent
    from portal.models import Organization

    flags = (
        Organization.objects.filter(pk=org.pk)
        .annotate(
            has_connection=Exists(Connection.objects.for_org(org)),
            has_own_account=Exists(
                ConnectedAccount.objects.for_org(org).filter(
                    identifier=user.identifier, status=AccountStatus.ACTIVE
                )
            ),
            has_agent=Exists(Agent.objects.for_org(org)),
            # A run that reached a model: one refused for want of a model or a
            # connection does not count as having run it.
            has_run=Exists(AgentRun.objects.for_org(org).filter(model_calls__gt=0)),
        )
        .values("has_connection", "has_own_account", "has_agent", "has_run")
        .get()
    )
    return [
        SetupStep(
            "Add a connection",
            "Register a provider's OAuth app (GitHub, Slack, Google, monday.com, …).",
            "connections",
            flags["has_connection"],
        ),
        SetupStep(
            "Connect your own account",
            "Authorize it as yourself; members do the same from Connected accounts.",
            "connected_accounts",
            flags["has_own_account"],
        ),
        SetupStep(
            "Create an agent",
            "Instructions, model and which tools it may use.",
            "agent_create",
            flags["has_agent"],
        ),
        SetupStep(
            "Run it",
            "Type a request; the agent works in your tools with your permissions.",
            "agents",
            flags["has_run"],
        ),
    ]


def sandbox_tour(org, user, *, mcp_url: str, reads_audit: bool) -> list[SetupStep] | None:
    """The sandbox tour for everyone, while the organization has sandbox connections: one
    query. Steps nothing records (seeing tools, the sandbox's data, the audit event) are
    done with the step that leads to them."""
    from agents.models import AgentStep
    from audit.models import AuditEvent
    from mcpserver.models import McpConnection
    from portal.models import Organization

    flags = (
        Organization.objects.filter(pk=org.pk)
        .annotate(
            has_sandbox=Exists(Connection.objects.for_org(org).filter(sandbox=True)),
            connected=Exists(
                ConnectedAccount.objects.for_org(org).filter(
                    identifier=user.identifier,
                    status=AccountStatus.ACTIVE,
                    connection__sandbox=True,
                )
            ),
            asked=Exists(
                AgentStep.objects.filter(
                    run__organization=org, run__user=user, kind=AgentStep.Kind.TOOL
                )
            ),
            approved=Exists(
                AuditEvent.objects.for_org(org).filter(
                    action="agent_run.approved", actor_type="user", actor_id=str(user.pk)
                )
            ),
            mcp=Exists(McpConnection.objects.for_org(org).filter(user=user, revoked_at=None)),
        )
        .values("has_sandbox", "connected", "asked", "approved", "mcp")
        .get()
    )
    if not flags["has_sandbox"]:
        return None
    return [
        SetupStep(
            "Connect sandbox monday as yourself",
            "Connected accounts → Connect: the sandbox's consent page signs you in as yourself.",
            "connected_accounts",
            flags["connected"],
        ),
        SetupStep(
            "See your tools",
            "Only the tools your sandbox account may call are offered to you and your agents.",
            "tools",
            flags["connected"],
        ),
        SetupStep(
            "Ask the agent to create an item",
            'Agents → Assistant: "call monday_create_item {"board_id": "4001", '
            '"item_name": "My first item"}".',
            "agents",
            flags["asked"],
        ),
        SetupStep(
            "Approve the write",
            "Write tools wait for your approval; you see the whole call before it runs.",
            "agent_runs",
            flags["approved"],
        ),
        SetupStep(
            "See the item in the sandbox",
            "Connected accounts → see its data: the sandbox's own read-only view.",
            "connected_accounts",
            flags["approved"],
        ),
        *(
            [
                SetupStep(
                    "Find the audit event",
                    "Every tool call is in the audit log, with who, as whom and what.",
                    "audit",
                    flags["approved"],
                )
            ]
            if reads_audit
            else []
        ),
        SetupStep(
            "Connect an MCP client",
            "Claude, Cursor or the MCP Inspector sign in with OAuth and get your tools:",
            "mcp_apps",
            flags["mcp"],
            code=f"npx @modelcontextprotocol/inspector  # then connect to {mcp_url}",
        ),
    ]


WAITING = (AccountStatus.PENDING_AUTH, AccountStatus.PENDING_VERIFICATION)


def manager_summary(org) -> dict[str, Any]:
    """Owners/admins: accounts by status, what needs attention, tool activity, recent runs."""
    accounts = ConnectedAccount.objects.for_org(org)
    by_status = {
        row["status"]: row["n"] for row in accounts.values("status").annotate(n=Count("id"))
    }
    attention = list(
        accounts.filter(_needs_attention())
        .select_related("connection", "user")
        .order_by("-updated_at")[: ATTENTION_LIMIT + 1]
    )
    return {
        "accounts_by_status": [
            (status, label, by_status.get(status, 0)) for status, label in AccountStatus.choices
        ],
        # An authorization nobody finished is not a connected account: shown as waiting.
        "account_total": sum(n for s, n in by_status.items() if s not in WAITING),
        "account_waiting": sum(n for s, n in by_status.items() if s in WAITING),
        "attention": attention[:ATTENTION_LIMIT],
        "attention_more": len(attention) > ATTENTION_LIMIT,
        "tool_activity": tool_activity(org),
        "recent_runs": AgentRun.objects.for_org(org).select_related("agent", "user")[:RECENT_RUNS],
    }


def member_summary(caller) -> dict[str, Any]:
    """Members: their accounts on each enabled connection (with reconnect links) and runs."""
    org = caller.organization
    accounts = {}
    for account in (
        ConnectedAccount.objects.for_org(org)
        .filter(identifier=caller.identifier)
        .order_by("is_default", "updated_at")
    ):
        accounts[account.connection_id] = account  # the default one, read last, wins
    connections = Connection.objects.for_org(org).filter(enabled=True).order_by("name")
    return {
        "my_accounts": [(c, accounts.get(c.pk)) for c in connections],
        "my_runs": runs_visible_to(caller=caller)[:RECENT_RUNS],
    }
