"""Dry run of a policy rule over the organization's history (issue 26): before a rule is
saved, what the rules — with it in its place — would have done to the last 1,000 audited
tool calls: allowed, denied or limited, and which calls it changes, with examples.

Replayed from the audit log: the tool, its arguments as recorded (secret-looking values
were redacted there, so a condition on them can't match), the identifier, the path (api,
agent, mcp), the agent's name and the MCP client. The caller's role is the identifier's
membership role today (an API key acted with admin rights, README "Decisions").
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from audit.models import AuditEvent
from connections.models import PolicyEffect, PolicyRule
from connections.policy import Compiled, Context, compile_rule, rules_of
from connections.tools import tool_registry
from portal.callers import Caller
from portal.identifiers import portal_user_uuid
from portal.models import Membership

HISTORY = 1000
EXAMPLES = 5


@dataclass
class Preview:
    calls: int = 0
    outcomes: Counter = field(default_factory=Counter)  # allowed, denied, approval, limited
    changed: int = 0  # calls whose outcome this rule changes
    examples: list[dict[str, Any]] = field(default_factory=list)


def preview(*, organization: Any, candidate: PolicyRule) -> Preview:
    """What the organization's rules plus `candidate` (unsaved, or an edited rule) would
    have decided for its last HISTORY tool calls."""
    current = [c for c in rules_of(organization) if c.rule.pk != candidate.pk]
    proposed = sorted(
        [*current, compile_rule(candidate)],
        key=lambda c: (c.rule.position, c.rule.created_at is None, c.rule.created_at or 0),
    )
    events = list(
        AuditEvent.objects.filter(organization=organization, action="tool.executed")
        .order_by("-created_at")[:HISTORY]
        .values("identifier", "target_id", "metadata", "created_at", "actor_type")
    )
    events.reverse()  # oldest first: limits count forward in time
    roles = _roles(organization, {e["identifier"] for e in events})
    registry = tool_registry()
    result = Preview()
    before_counts: dict[Any, int] = defaultdict(int)
    after_counts: dict[Any, int] = defaultdict(int)
    for event in events:
        metadata = event["metadata"] or {}
        tool = registry.get(str(metadata.get("tool") or event["target_id"]))
        params = metadata.get("params")
        if tool is None or not isinstance(params, dict):
            continue
        context = _context(organization, event, metadata, roles)
        before = _outcome(current, tool, params, context, event, before_counts)
        after = _outcome(proposed, tool, params, context, event, after_counts)
        result.calls += 1
        result.outcomes[after] += 1
        if before != after:
            result.changed += 1
            if len(result.examples) < EXAMPLES:
                result.examples.append(
                    {
                        "when": event["created_at"],
                        "tool": tool.name,
                        "identifier": event["identifier"],
                        "via": metadata.get("via", ""),
                        "before": before,
                        "after": after,
                    }
                )
    return result


def _roles(organization: Any, identifiers: set[str]) -> dict[str, str]:
    uuids = {u for u in (portal_user_uuid(i) for i in identifiers) if u is not None}
    memberships = (
        Membership.objects.for_org(organization).filter(user__uuid__in=uuids).select_related("user")
    )
    return {m.user.identifier: m.role for m in memberships}


def _context(organization: Any, event: dict, metadata: dict, roles: dict[str, str]) -> Context:
    via = str(metadata.get("via") or "api")
    client_id = str(metadata.get("client_id") or "")
    by_key = event["actor_type"] == "api_key" or client_id.startswith("api-key:")
    role = "admin" if by_key else roles.get(event["identifier"], "")
    caller = _ReplayCaller(
        organization=organization, identifier=event["identifier"], replayed_role=role
    )
    agent = str(metadata.get("agent") or "")
    return Context(caller=caller, via=via, agent=agent, client_id=client_id)


class _ReplayCaller(Caller):
    """A caller rebuilt from an audit event: its identifier and role."""

    replayed_role: str

    def __init__(self, *, organization: Any, identifier: str, replayed_role: str) -> None:
        super().__init__(organization=organization, identifier=identifier)
        object.__setattr__(self, "replayed_role", replayed_role)

    @property
    def role(self) -> str:
        return self.replayed_role


def _outcome(
    rules: list[Compiled],
    tool: Any,
    params: dict[str, Any],
    context: Context,
    event: dict,
    counts: dict[Any, int],
) -> str:
    for compiled in rules:
        if not (
            compiled.matches_tool(tool)
            and compiled.matches_context(context)
            and compiled.matches_arguments(params)
        ):
            continue
        rule = compiled.rule
        if rule.effect == PolicyEffect.DENY:
            return "denied"
        if rule.effect == PolicyEffect.APPROVE:
            return "approval"
        if rule.effect == PolicyEffect.LIMIT:
            window = max(1, rule.limit_window_seconds or 60)
            who = context.caller.identifier if rule.limit_per == "member" else ""
            bucket = (id(rule), who, int(event["created_at"].timestamp()) // window)
            counts[bucket] += 1
            return "limited" if counts[bucket] > (rule.limit_count or 0) else "allowed"
        return "allowed"
    return "allowed"
