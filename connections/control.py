"""The one control point every call passes before its provider is called (issue 26): the
organization's policy rules, then its pre-execution hook, then its budgets. Used by tool
execution (REST, agent runs, MCP, the discovery meta-tools all end in
connections/tools.execute_tool) and by the raw proxy, which rules and the hook see as
the tool `proxy` of the connection's provider (arguments: method, path, query, body).

What decided is written into the call's audit metadata (`policy_rule`, `hook`), refused
calls included: the caller's error carries the rule's id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from audit import trail
from connections import budgets, policy, policy_hook
from connections.errors import ToolForbidden
from connections.models import PolicyRule
from connections.tooling import Tool
from core import logcontext, metrics
from core.errors import Conflict, PortalError


@dataclass
class Verdict:
    """A call the controls let through: whether a person must approve it first, and who
    may (the approve rule's approvers; empty: the caller, as "ask before writes")."""

    rule: PolicyRule | None = None
    wants_approval: bool = False
    approvers: list[str] = field(default_factory=list)


class HookDenied(ToolForbidden):
    code = "policy_denied"


class HookFailed(ToolForbidden):
    code = "policy_hook_failed"


def check_call(
    tool: Tool,
    params: dict[str, Any],
    context: policy.Context,
    *,
    audit: dict[str, Any],
    outgoing: dict[str, Any] | None = None,
) -> Verdict:
    """Decide the call: raise when rules, the hook or a budget refuse it; else the verdict.
    Rules match `params` as given; the hook is sent `outgoing` (what the provider would
    get, after data protection). `audit` (the call's audit metadata) gets what decided."""
    try:
        rule = policy.enforce(tool, params, context)
    except PortalError as refused:
        metrics.policy_decision(refused.code)
        raise
    metrics.policy_decision(rule.effect if rule is not None else "no_rule")
    verdict = Verdict(rule=rule, wants_approval=policy.needs_approval(rule))
    if rule is not None:
        audit["policy_rule"] = str(rule.pk)
        verdict.approvers = list(rule.approvers or []) if verdict.wants_approval else []
    loaded = policy.loaded(context.caller.organization)
    if loaded.hook is not None:
        answer = policy_hook.ask(
            loaded.hook, tool=tool, params=params if outgoing is None else outgoing, context=context
        )
        audit["hook"] = answer.as_audit()
        metrics.policy_decision(f"hook_{answer.decision}" + ("_on_failure" if answer.error else ""))
        if answer.decision == "deny" and answer.error:
            raise HookFailed(
                f"The organization's policy hook did not answer ({answer.error}); "
                "it is set to refuse calls then.",
            )
        if answer.decision == "deny":
            raise HookDenied(
                answer.message or f"The organization's policy hook refused {tool.name}.",
                details={"hook": True},
            )
        if answer.decision == "approve":
            verdict.wants_approval = True
    if loaded.budgets:
        budgets.check(  # raises budget_exceeded (counted as a denial by count_call)
            budgets.Spender(
                organization=context.caller.organization,
                identifier=context.caller.identifier,
                agent=context.agent,
            ),
            metric="tool_calls",
            budgets=list(loaded.budgets),
        )
    return verdict


# Refusals by the organization's controls: what the usage page counts as denials.
DENIALS = frozenset(
    {
        "policy_denied",
        "policy_limited",
        "policy_hook_failed",
        "budget_exceeded",
        "approval_required",
        "tool_not_allowed",
    }
)


def call_usage(
    spender: budgets.Spender, *, provider: str, called: bool, error: PortalError | None
) -> list[trail.Statement]:
    """What a call adds to the day's usage — a tool call when the provider was called, a
    denial when the controls refused it; `failures` of both for the dashboard — as the
    statement to write with the call's audit event (none for input refused before that,
    which changes nothing, as for any 4xx)."""
    denied = error is not None and error.code in DENIALS
    if not (called or denied):
        return []
    statement = budgets.counting(
        spender,
        provider=provider,
        tool_calls=int(called),
        denials=int(denied),
        attempts=1,
        failures=int(error is not None),
    )
    return [statement] if statement else []


def observe_call(
    *,
    provider: str,
    called: bool,
    error: PortalError | None,
    tool: str,
    via: str,
    execution_id: str,
    seconds: float | None,
) -> None:
    """Count a call in the metrics; note it for the log line."""
    metrics.tool_call(
        provider=provider,
        tool=tool if provider else "unknown",
        via=via,
        outcome="ok" if error is None else error.code,
        seconds=seconds if called else None,
    )
    logcontext.note(execution_id=execution_id)


def count_call(
    spender: budgets.Spender,
    *,
    provider: str,
    called: bool,
    error: PortalError | None,
    tool: str = "proxy",
    via: str = "proxy",
    execution_id: str = "",
    seconds: float | None = None,
) -> None:
    """A call's usage row (on its own, for calls whose audit event is written apart),
    metrics and log note."""
    for statement in call_usage(spender, provider=provider, called=called, error=error):
        with connection.cursor() as cursor:
            cursor.execute(*statement)
    observe_call(
        provider=provider,
        called=called,
        error=error,
        tool=tool,
        via=via,
        execution_id=execution_id,
        seconds=seconds,
    )


def approval_refused(tool: Tool, verdict: Verdict) -> Conflict:
    """For paths with nobody to ask (the REST API, the proxy): 409 approval_required."""
    return Conflict(
        f"The organization's policy wants a person to approve {tool.name} first; "
        "the API has no one to ask. Run it through an agent or an MCP client, "
        "where approvals happen.",
        code="approval_required",
        details={"rule_id": str(verdict.rule.pk) if verdict.rule else ""},
    )
