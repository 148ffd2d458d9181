"""The organization's tool-call policy (issue 26, part): ordered rules decided before a
provider is called, on every path — REST execute, agent runs, MCP and the discovery
meta-tools all end in connections/tools.execute_tool, which asks `enforce` once the call
is resolved and its arguments valid. The first enabled rule that matches decides:

* `allow` — the call goes ahead (later rules are not asked);
* `deny` — 403 `policy_denied`, with the rule's message and id;
* `approve` — the call waits for a person's approval where the path has approvals (an
  agent run pauses as for "ask before writes"; an MCP client gets `approval_required`
  with the approval page's link); the REST API, which has no one to ask, answers 409
  `approval_required`;
* `limit` — at most `limit_count` calls per `limit_window_seconds`, per member or per
  organization; beyond it 429 `policy_limited` with Retry-After.

No rule matching: the call goes ahead. A tool a rule denies outright (no condition on
arguments) is not listed to models or MCP clients (`visible`). The decision's rule is in
the call's audit event (`policy_rule`).

Rules are loaded once per organization and process, and kept while the organization's
`policy_version` (bumped by every change, in the same transaction) is the one loaded:
a call costs no query for them. Rule changes are audited with their version.
"""

from __future__ import annotations

import fnmatch
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest

from audit import trail
from connections.errors import ToolForbidden, ToolRateLimited
from connections.models import Budget, PolicyEffect, PolicyHook, PolicyRule
from connections.patterns import compile_pattern
from connections.policy_match import MATCHED_TEXT, MISSING, Hits, RegexSets, lookup
from connections.providers import providers
from connections.tooling import Tool
from core.errors import Invalid, NotFound
from core.tenancy import as_uuid
from portal.callers import Caller
from portal.models import Organization

OPS = ("equals", "not_equals", "in", "not_in", "regex", "missing", "present")
ACCESS = ("any", "read", "write")
VIAS = ("api", "proxy", "agent", "mcp")
MAX_RULES = 1000
PROXY = "proxy"  # what rules call the raw proxy (connections/proxy.py) in `tools`


@dataclass(frozen=True)
class Context:
    """Who is calling and through what, besides the tool and its arguments."""

    caller: Caller
    via: str = "api"
    agent: str = ""  # the agent's name, in a run
    client_id: str = ""  # the MCP client's id


@dataclass(frozen=True)
class Compiled:
    """A rule ready to match: globs and regexes compiled once."""

    rule: PolicyRule
    tools: tuple[re.Pattern, ...]
    conditions: tuple[tuple[tuple[str, ...], str, Any], ...]

    def matches_tool(self, tool: Tool) -> bool:
        rule = self.rule
        if rule.providers and tool.provider not in rule.providers:
            return False
        if self.tools and not any(p.match(tool.name) for p in self.tools):
            return False
        return not (
            (rule.access == "read" and tool.write) or (rule.access == "write" and not tool.write)
        )

    def matches_context(self, context: Context) -> bool:
        rule = self.rule
        caller = context.caller
        if rule.roles and caller.role not in rule.roles:
            return False
        if rule.identifiers and caller.identifier not in rule.identifiers:
            return False
        if rule.vias and context.via not in rule.vias:
            return False
        if rule.agents and context.agent not in rule.agents:
            return False
        return not (rule.clients and context.client_id not in rule.clients)

    def matches_call(self, tool: Tool, context: Context) -> bool:
        return self.matches_tool(tool) and self.matches_context(context)

    def matches_arguments(self, params: dict[str, Any], hits: Hits | None = None) -> bool:
        """Whether every condition holds; regexes are looked up in `hits` (all of a tool's
        regexes on one argument matched at once) when given."""
        for n, (path, op, value) in enumerate(self.conditions):
            if op == "regex" and hits is not None:
                if (id(self), n) not in hits.matched(params, path):
                    return False
            elif not _holds(params, path, op, value):
                return False
        return True


def _holds(params: dict[str, Any], path: tuple[str, ...], op: str, value: Any) -> bool:
    found = lookup(params, path)
    if op == "missing":
        return found is MISSING
    if op == "present":
        return found is not MISSING
    if found is MISSING:
        return op in ("not_equals", "not_in")
    if op == "equals":
        return found == value or str(found) == str(value)
    if op == "not_equals":
        return not (found == value or str(found) == str(value))
    if op in ("in", "not_in"):
        inside = found in value or str(found) in {str(v) for v in value}
        return inside if op == "in" else not inside
    return value.search(str(found)[:MATCHED_TEXT]) is not None  # regex


def compile_rule(rule: PolicyRule) -> Compiled:
    conditions = []
    for condition in rule.conditions:
        path = tuple(p for p in str(condition["path"]).removeprefix("$").split(".") if p)
        value = condition.get("value")
        if condition["op"] == "regex":
            value = compile_pattern(str(value), code="invalid_rule")
        conditions.append((path, condition["op"], value))
    return Compiled(
        rule=rule,
        tools=tuple(re.compile(fnmatch.translate(t)) for t in rule.tools),
        conditions=tuple(conditions),
    )


@dataclass
class Loaded:
    """An organization's rules at one policy_version, and for each tool asked about so
    far the rules that can match it at all (what a call then still has to check is who
    calls and with what arguments)."""

    version: int
    rules: list[Compiled]
    by_tool: dict[tuple[str, str, bool], list[Compiled]]
    # Kept with the rules, on the same version: the pre-execution hook and the budgets.
    hook: PolicyHook | None = None
    budgets: tuple[Budget, ...] = ()

    regex_sets: dict[tuple[str, str, bool], RegexSets] = dataclass_field(default_factory=dict)

    def for_tool(self, tool: Tool) -> list[Compiled]:
        # Keyed beyond the name: the proxy is one "tool" per provider, read or write.
        key = (tool.provider, tool.name, tool.write)
        found = self.by_tool.get(key)
        if found is None:
            found = self.by_tool[key] = [c for c in self.rules if c.matches_tool(tool)]
            self.regex_sets[key] = RegexSets(found)
        return found

    def hits_for(self, tool: Tool) -> Hits:
        self.for_tool(tool)
        return self.regex_sets[(tool.provider, tool.name, tool.write)].for_call()


_loaded: dict[Any, Loaded] = {}
_NONE = Loaded(version=0, rules=[], by_tool={})


def loaded(organization: Organization) -> Loaded:
    """The organization's enabled rules in order, compiled; queried only when its
    policy_version moved since this process last loaded them."""
    # The key names the organization beyond its id (an id can be used again once its
    # organization is deleted); the version says whether what is kept is current.
    key = (organization.pk, organization.created_at)
    kept = _loaded.get(key)
    if kept is not None and kept.version == organization.policy_version:
        return kept
    if organization.policy_version == 0:
        return _NONE  # never had a rule
    compiled = [
        compile_rule(rule) for rule in PolicyRule.objects.for_org(organization).filter(enabled=True)
    ]
    kept = _loaded[key] = Loaded(
        organization.policy_version,
        compiled,
        {},
        hook=PolicyHook.objects.for_org(organization).filter(enabled=True).first(),
        budgets=tuple(Budget.objects.for_org(organization)),
    )
    return kept


def rules_of(organization: Organization) -> list[Compiled]:
    return loaded(organization).rules


def decide(tool: Tool, params: dict[str, Any], context: Context) -> PolicyRule | None:
    """The first rule that matches this call, or None."""
    rules = loaded(context.caller.organization)
    candidates = rules.for_tool(tool)
    if not candidates:
        return None
    hits = rules.hits_for(tool)
    for compiled in candidates:
        if compiled.matches_context(context) and compiled.matches_arguments(params, hits):
            return compiled.rule
    return None


class PolicyDenied(ToolForbidden):
    code = "policy_denied"


class PolicyLimited(ToolRateLimited):
    code = "policy_limited"


def enforce(tool: Tool, params: dict[str, Any], context: Context) -> PolicyRule | None:
    """Decide the call; raise when a rule refuses it. Returns the rule that decided (an
    `approve` rule is for the caller to act on: see `needs_approval`)."""
    rule = decide(tool, params, context)
    if rule is None or rule.effect in (PolicyEffect.ALLOW, PolicyEffect.APPROVE):
        return rule
    details = {"rule_id": str(rule.pk), "rule": rule.name}
    if rule.effect == PolicyEffect.DENY:
        raise PolicyDenied(
            rule.message or f"The organization's policy does not allow {tool.name} here.",
            details=details,
        )
    _count_against_limit(rule, tool, context, details)
    return rule


def needs_approval(rule: PolicyRule | None) -> bool:
    return rule is not None and rule.effect == PolicyEffect.APPROVE


def _count_against_limit(
    rule: PolicyRule, tool: Tool, context: Context, details: dict[str, Any]
) -> None:
    window = max(1, rule.limit_window_seconds or 60)
    started = int(time.time()) // window * window
    who = context.caller.identifier if rule.limit_per == "member" else "organization"
    key = f"policy-limit:{rule.pk}:{rule.version}:{who}:{started}"
    cache.add(key, 0, window + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window + 5)
        count = 1
    if count > (rule.limit_count or 0):
        raise PolicyLimited(
            rule.message
            or f"The organization allows {rule.limit_count} calls of this kind per {window} s.",
            retry_after=max(1, started + window - int(time.time())),
        ).with_details(**details)


def visible(entries: Iterable[Any], context: Context) -> list[Any]:
    """Entries (anything with `.tool`) a rule does not deny outright — a deny rule with no
    condition on arguments hides the tool from lists; one with conditions leaves it
    listed (some calls of it are allowed)."""
    rules = loaded(context.caller.organization)
    if not rules.rules:
        return list(entries)
    shown = []
    for entry in entries:
        for compiled in rules.for_tool(entry.tool):
            if not compiled.matches_context(context):
                continue
            if compiled.conditions and compiled.rule.effect == PolicyEffect.DENY:
                continue  # denies some calls; a later rule decides the rest
            if compiled.rule.effect != PolicyEffect.DENY:
                shown.append(entry)
            break
        else:
            shown.append(entry)
    return shown


# --- Managing rules ----------------------------------------------------------------------------

FIELDS = (
    "position",
    "name",
    "message",
    "enabled",
    "providers",
    "tools",
    "access",
    "roles",
    "identifiers",
    "vias",
    "agents",
    "clients",
    "conditions",
    "effect",
    "limit_count",
    "limit_window_seconds",
    "limit_per",
    "approvers",
)


def _names(values: dict[str, Any], field: str, allowed: Iterable[str] | None = None) -> list:
    value = values[field]
    if value in (None, ""):
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise Invalid(f"{field} is a list of names.", code="invalid_rule", details={"field": field})
    if allowed is not None:
        unknown = sorted(set(value) - set(allowed))
        if unknown:
            raise Invalid(
                f"{field}: unknown {', '.join(unknown)}.",
                code="invalid_rule",
                details={"field": field, "unknown": unknown},
            )
    return value


def _conditions(value: Any) -> list[dict[str, Any]]:
    if value in (None, ""):
        return []
    if not isinstance(value, list) or len(value) > 20:
        raise Invalid("conditions is a list (20 at most).", code="invalid_rule")
    cleaned = []
    for condition in value:
        if not isinstance(condition, dict) or condition.get("op") not in OPS:
            raise Invalid(
                f"Each condition is {{path, op, value}} with op one of {', '.join(OPS)}.",
                code="invalid_rule",
                details={"field": "conditions"},
            )
        path = condition.get("path")
        if not isinstance(path, str) or not path.strip("$.") or len(path) > 200:
            raise Invalid(
                "A condition's path names an argument, e.g. $.channel.", code="invalid_rule"
            )
        op, given = condition["op"], condition.get("value")
        if op in ("in", "not_in") and not isinstance(given, list):
            raise Invalid(f"{op} compares with a list of values.", code="invalid_rule")
        if op == "regex":
            compile_pattern(given, code="invalid_rule", what="A condition's regex")
        cleaned.append(
            {"path": path, "op": op, **({} if op in ("missing", "present") else {"value": given})}
        )
    return cleaned


def clean(values: dict[str, Any]) -> dict[str, Any]:
    from connections.tools import tool_registry

    cleaned: dict[str, Any] = {}
    if "name" in values:
        name = str(values["name"] or "").strip()
        if not name or len(name) > 100:
            raise Invalid("Name the rule (100 characters at most).", code="invalid_rule")
        cleaned["name"] = name
    if "message" in values:
        cleaned["message"] = str(values["message"] or "")[:500]
    if "enabled" in values:
        cleaned["enabled"] = bool(values["enabled"])
    if "position" in values:
        try:
            cleaned["position"] = max(0, min(int(values["position"]), 1_000_000))
        except (TypeError, ValueError):
            raise Invalid("position is a whole number.", code="invalid_rule") from None
    if "providers" in values:
        cleaned["providers"] = _names(values, "providers", providers())
    if "tools" in values:
        cleaned["tools"] = _names(values, "tools")
        known = [*tool_registry(), PROXY]
        unmatched = [t for t in cleaned["tools"] if not fnmatch.filter(known, t)]
        if unmatched:
            raise Invalid(
                f"tools: no tool is named like {', '.join(unmatched)}.",
                code="invalid_rule",
                details={"field": "tools", "unknown": unmatched},
            )
    if "access" in values:
        if values["access"] not in ACCESS:
            raise Invalid(f"access is one of {', '.join(ACCESS)}.", code="invalid_rule")
        cleaned["access"] = values["access"]
    for field in ("roles", "identifiers", "agents", "clients"):
        if field in values:
            cleaned[field] = _names(values, field)
    if "vias" in values:
        cleaned["vias"] = _names(values, "vias", VIAS)
    if "conditions" in values:
        cleaned["conditions"] = _conditions(values["conditions"])
    if "effect" in values:
        if values["effect"] not in PolicyEffect.values:
            raise Invalid(
                f"effect is one of {', '.join(PolicyEffect.values)}.", code="invalid_rule"
            )
        cleaned["effect"] = values["effect"]
    for field, high in (("limit_count", 1_000_000), ("limit_window_seconds", 31 * 86400)):
        if field in values:
            given = values[field]
            if given in (None, ""):
                cleaned[field] = None
                continue
            if isinstance(given, bool) or not isinstance(given, int) or not 1 <= given <= high:
                raise Invalid(f"{field} is a number from 1 to {high}.", code="invalid_rule")
            cleaned[field] = given
    if "approvers" in values:
        cleaned["approvers"] = _names(values, "approvers")
    if "limit_per" in values:
        if values["limit_per"] not in ("member", "organization"):
            raise Invalid("limit_per is member or organization.", code="invalid_rule")
        cleaned["limit_per"] = values["limit_per"]
    return cleaned


def check_whole(rule: PolicyRule) -> None:
    if rule.effect == PolicyEffect.LIMIT and not (rule.limit_count and rule.limit_window_seconds):
        raise Invalid(
            "A limit rule needs limit_count and limit_window_seconds.", code="invalid_rule"
        )


def changed(organization: Organization) -> None:
    """Rules, the hook or budgets changed: every process loads them again (the version)."""
    Organization.objects.filter(pk=organization.pk).update(policy_version=F("policy_version") + 1)


def _changed(rule: PolicyRule, action: str, caller: Caller, request: HttpRequest | None) -> None:
    changed(rule.organization)
    trail.record(
        action=action,
        organization=rule.organization,
        caller=caller,
        request=request,
        target_type="policy_rule",
        target_id=str(rule.pk),
        metadata={"name": rule.name, "effect": rule.effect, "version": rule.version},
    )


def rules_for_admin(*, organization: Any) -> Any:
    return PolicyRule.objects.for_org(organization)


def get_rule(*, organization: Any, rule_id: Any) -> PolicyRule:
    pk = as_uuid(rule_id)
    rule = PolicyRule.objects.for_org(organization).filter(pk=pk).first() if pk else None
    if rule is None:
        raise NotFound("No such policy rule.", code="policy_rule_not_found")
    return rule


def create_rule(*, caller: Caller, request: HttpRequest | None = None, **values: Any) -> PolicyRule:
    caller.require_manager()
    cleaned = clean(values)
    if "name" not in cleaned or "effect" not in cleaned:
        raise Invalid("A rule has a name and an effect.", code="invalid_rule")
    organization = caller.organization
    if PolicyRule.objects.for_org(organization).count() >= MAX_RULES:
        raise Invalid(f"An organization has {MAX_RULES} rules at most.", code="too_many_rules")
    rule = PolicyRule(organization=organization, **cleaned)
    check_whole(rule)
    with transaction.atomic():
        rule.save(force_insert=True)
        _changed(rule, "policy_rule.created", caller, request)
    return rule


def update_rule(
    *, caller: Caller, rule: PolicyRule, request: HttpRequest | None = None, **values: Any
) -> PolicyRule:
    caller.require_manager()
    for field, value in clean({k: v for k, v in values.items() if k in FIELDS}).items():
        setattr(rule, field, value)
    check_whole(rule)
    rule.version += 1
    with transaction.atomic():
        rule.save()
        _changed(rule, "policy_rule.updated", caller, request)
    return rule


def delete_rule(*, caller: Caller, rule: PolicyRule, request: HttpRequest | None = None) -> None:
    caller.require_manager()
    with transaction.atomic():
        _changed(rule, "policy_rule.deleted", caller, request)
        rule.delete()
