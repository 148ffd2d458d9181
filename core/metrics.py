"""The portal's Prometheus metrics (issue 28), counted where things happen and served by
`/metrics` (front/metrics.py, with what is read at scrape time: queues, workers, jobs).

Labels are bounded sets chosen by the portal — a route's pattern, a catalog tool's name,
a provider key, an outcome — never an identifier, an e-mail, an id, a URL or a token:
label values come from `label()`, which keeps only names of the catalog's shape.

With several processes (gunicorn workers, Celery workers) set PROMETHEUS_MULTIPROC_DIR to
a directory they share, emptied at start: prometheus-client then writes each process's
figures there and `/metrics` sums them (its multiprocess mode).
"""

from __future__ import annotations

import os
import re

from prometheus_client import Counter, Histogram

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # Any process of the installation may be first (a manage.py command included).
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

# Names the portal chose (routes, tools, providers, outcomes): lower-case words, digits,
# dots, dashes, slashes, angle brackets of route patterns. Anything else is "other".
_LABEL = re.compile(r"^[a-z0-9_.:/<>\-]{1,120}$")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

HTTP_REQUESTS = Counter(
    "portal_http_requests",
    "HTTP requests answered, by route pattern",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "portal_http_request_duration_seconds",
    "Time to answer an HTTP request, by route pattern",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
TOOL_CALLS = Counter(
    "portal_tool_calls",
    "Tool calls by provider, tool, path and outcome",
    ["provider", "tool", "via", "outcome"],
)
PROVIDER_LATENCY = Histogram(
    "portal_provider_call_duration_seconds",
    "Time of a tool call that reached its provider",
    ["provider"],
    buckets=LATENCY_BUCKETS,
)
REFRESHES = Counter(
    "portal_token_refreshes",
    "Token refreshes by provider and outcome (ok, refused, lost_rotation, unknown, "
    "timeout, unavailable, rate_limited)",
    ["provider", "outcome"],
)
RUNS_FINISHED = Counter(
    "portal_agent_runs_finished", "Agent runs that ended, by status", ["status"]
)
RUN_DURATION = Histogram(
    "portal_agent_run_duration_seconds",
    "From a run's creation to its end",
    buckets=(1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600),
)
WEBHOOK_DELIVERIES = Counter(
    "portal_webhook_deliveries", "Webhook delivery attempts by outcome", ["outcome"]
)
WEBHOOK_LAG = Histogram(
    "portal_webhook_delivery_lag_seconds",
    "From an event's creation to a delivery attempt",
    buckets=(0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400),
)
POLICY_DECISIONS = Counter(
    "portal_policy_decisions",
    "Decisions of the organization's controls on calls (rule effects, hook answers, budgets)",
    ["decision"],
)
MCP_SESSIONS = Counter("portal_mcp_sessions", "MCP sessions started, by protocol era", ["era"])


def label(value: object) -> str:
    """A label value the portal chose, or "other" (never a caller's free text)."""
    text = str(value or "").lower()
    return text if _LABEL.match(text) else "other"


def http_request(*, method: str, route: str, status: int, seconds: float) -> None:
    method = (
        method
        if method in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
        else "OTHER"
    )
    HTTP_REQUESTS.labels(method, label(route), str(status)).inc()
    HTTP_LATENCY.labels(method, label(route)).observe(seconds)


def tool_call(*, provider: str, tool: str, via: str, outcome: str, seconds: float | None) -> None:
    # A name no catalog tool has (a caller's typo) is counted as "other".
    TOOL_CALLS.labels(label(provider or "none"), label(tool), label(via), label(outcome)).inc()
    if seconds is not None:
        PROVIDER_LATENCY.labels(label(provider)).observe(seconds)


def refresh(*, provider: str, outcome: str) -> None:
    REFRESHES.labels(label(provider), label(outcome)).inc()


def run_finished(*, status: str, seconds: float) -> None:
    RUNS_FINISHED.labels(label(status)).inc()
    RUN_DURATION.observe(max(0.0, seconds))


def webhook_delivery(*, outcome: str, lag_seconds: float) -> None:
    WEBHOOK_DELIVERIES.labels(label(outcome)).inc()
    WEBHOOK_LAG.observe(max(0.0, lag_seconds))


def policy_decision(decision: str) -> None:
    POLICY_DECISIONS.labels(label(decision)).inc()


def mcp_session(era: str) -> None:
    MCP_SESSIONS.labels(label(era)).inc()
