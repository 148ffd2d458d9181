"""Agents: create, update, delete, look up. Owners/admins configure; everyone runs.

Validation lives here so the pages and the API refuse the same input with the
same message. The API-key override is write-only: sealed by the vault, never
shown or returned again (an empty value keeps it; `clear_api_key` removes it).
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest

from agents.models import Agent
from audit import trail
from connections import results
from connections.models import Connection, Toolset
from connections.providers import get_provider
from core import egress
from core.errors import Conflict, Invalid, NotFound
from core.tenancy import as_uuid

EDITABLE_FIELDS = (
    "name",
    "instructions",
    "model",
    "temperature",
    "max_steps",
    "allowed_connections",
    "allowed_tools",
    "approval_policy",
    "base_url",
    "sandbox_model",
    "tool_mode",
    "toolset",
    "result_limit",
)
MAX_INSTRUCTIONS = 20_000
MAX_STEPS_LIMIT = 50


def _names(value: Any, field: str) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise Invalid(f"{field} must be a list of names.", code="invalid_allow_list")
    return sorted({item.strip() for item in value if item.strip()})


def _number(value: Any, field: str, kind: type, low: float, high: float):
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise Invalid(f"{field} must be a number.", code=f"invalid_{field}") from None
    if isinstance(value, bool) or not (low <= number <= high):
        raise Invalid(f"{field} must be between {low} and {high}.", code=f"invalid_{field}")
    return number


def clean(org, values: dict[str, Any]) -> dict[str, Any]:
    """Validate the given fields (any subset of EDITABLE_FIELDS) → cleaned values."""
    cleaned: dict[str, Any] = {}
    if "name" in values:
        name = str(values["name"] or "").strip()
        if not name:
            raise Invalid("Give the agent a name.", code="name_required")
        if len(name) > 100:
            raise Invalid("The name is longer than 100 characters.", code="name_too_long")
        cleaned["name"] = name
    if "instructions" in values:
        instructions = str(values["instructions"] or "").strip()
        if len(instructions) > MAX_INSTRUCTIONS:
            raise Invalid(
                f"Instructions are longer than {MAX_INSTRUCTIONS} characters.",
                code="instructions_too_long",
            )
        cleaned["instructions"] = instructions
    if "model" in values:
        model = str(values["model"] or "").strip()
        if not model or len(model) > 100:
            raise Invalid("Name the model (up to 100 characters).", code="invalid_model")
        cleaned["model"] = model
    if "temperature" in values:
        cleaned["temperature"] = _number(values["temperature"], "temperature", float, 0.0, 2.0)
    if "max_steps" in values:
        cleaned["max_steps"] = _number(values["max_steps"], "max_steps", int, 1, MAX_STEPS_LIMIT)
    if "approval_policy" in values:
        if values["approval_policy"] not in Agent.Approval.values:
            raise Invalid(
                f"approval_policy must be one of {', '.join(Agent.Approval.values)}.",
                code="invalid_approval_policy",
            )
        cleaned["approval_policy"] = values["approval_policy"]
    if "base_url" in values:
        url = str(values["base_url"] or "").strip()
        if len(url) > 500:
            raise Invalid("base_url is longer than 500 characters.", code="invalid_url")
        cleaned["base_url"] = egress.check_url(url, field="base_url") if url else ""
    if "tool_mode" in values:
        values = {**values, "tool_mode": values["tool_mode"] or Agent.ToolMode.AUTO}
        if values["tool_mode"] not in Agent.ToolMode.values:
            raise Invalid(
                f"tool_mode must be one of {', '.join(Agent.ToolMode.values)}.",
                code="invalid_tool_mode",
                details={"field": "tool_mode"},
            )
        cleaned["tool_mode"] = values["tool_mode"]
    if "toolset" in values:
        name = values["toolset"]
        name = name.name if isinstance(name, Toolset) else str(name or "").strip()
        toolset = Toolset.objects.for_org(org).filter(name=name).first() if name else None
        if name and toolset is None:
            raise Invalid(
                f"No toolset named {name!r} in this organization.",
                code="unknown_toolset",
                details={"field": "toolset"},
            )
        cleaned["toolset"] = toolset
    if "result_limit" in values:
        limit = values["result_limit"]
        cleaned["result_limit"] = (
            results.DEFAULT_LIMIT
            if limit in (None, "")
            else _number(limit, "result_limit", int, results.MIN_LIMIT, results.MAX_LIMIT)
        )
    if "sandbox_model" in values:
        cleaned["sandbox_model"] = values["sandbox_model"] in (True, "true", "on", "1", 1)
    if "allowed_connections" in values:
        names = _names(values["allowed_connections"], "allowed_connections")
        known = set(
            Connection.objects.for_org(org).filter(name__in=names).values_list("name", flat=True)
        )
        _refuse_unknown(
            names, known, "No connection named {} in this organization.", "unknown_connection"
        )
        cleaned["allowed_connections"] = names
    if "allowed_tools" in values:
        names = _names(values["allowed_tools"], "allowed_tools")
        _refuse_unknown(names, known_tool_names(org), "Unknown tools: {}.", "unknown_tool")
        cleaned["allowed_tools"] = names
    return cleaned


def _require_own_key(agent: Agent) -> None:
    """DESIGN §12 rule 16: the server-wide model key never goes to an organization's host."""
    if agent.base_url and not agent.has_secret("api_key_sealed"):
        raise Invalid(
            "An agent with its own model base URL needs its own API key: the server-wide "
            "key is only sent to the server-wide OPENAI_BASE_URL.",
            code="api_key_required",
        )


def known_tools_by_provider(org) -> list[tuple[str, list[str]]]:
    """The same tools, grouped by provider (display name) for the agent form."""
    providers = set(Connection.objects.for_org(org).values_list("provider", flat=True))
    return [
        (spec.display_name, sorted(tool.name for tool in spec.tools))
        for provider in sorted(providers)
        if (spec := get_provider(provider))
    ]


def known_tool_names(org) -> list[str]:
    """Tool names of every provider the organization has a connection for."""
    return sorted({name for _, names in known_tools_by_provider(org) for name in names})


def create_agent(
    *,
    org,
    created_by=None,
    api_key: str = "",
    request: HttpRequest | None = None,
    **values: Any,
) -> Agent:
    values.setdefault("name", "")
    cleaned = clean(org, {k: v for k, v in values.items() if k in EDITABLE_FIELDS})
    agent = Agent(organization=org, created_by=created_by, **cleaned)
    if api_key:
        agent.set_secret("api_key_sealed", api_key)
    _require_own_key(agent)
    _save(agent, "agent.created", request, cleaned, api_key_changed=bool(api_key), create=True)
    return agent


def update_agent(
    *,
    agent: Agent,
    api_key: str | None = None,
    clear_api_key: bool = False,
    request: HttpRequest | None = None,
    **values: Any,
) -> Agent:
    cleaned = clean(agent.organization, {k: v for k, v in values.items() if k in EDITABLE_FIELDS})
    for field, value in cleaned.items():
        setattr(agent, field, value)
    if clear_api_key:
        agent.set_secret("api_key_sealed", None)
    elif api_key:
        agent.set_secret("api_key_sealed", api_key)
    _require_own_key(agent)
    _save(agent, "agent.updated", request, cleaned, api_key_changed=bool(api_key) or clear_api_key)
    return agent


def _save(
    agent: Agent,
    action: str,
    request: HttpRequest | None,
    cleaned: dict,
    *,
    api_key_changed: bool,
    create: bool = False,
) -> None:
    """Save and audit in one transaction; a taken name is a 409, not a 500."""
    try:
        with transaction.atomic():
            agent.save(force_insert=create)
            _audit(agent, action, request, cleaned, api_key_changed=api_key_changed)
    except IntegrityError:
        raise Conflict(
            f"An agent named {agent.name!r} already exists.", code="duplicate_name"
        ) from None


def delete_agent(*, agent: Agent, request: HttpRequest | None = None) -> None:
    with transaction.atomic():
        _audit(agent, "agent.deleted", request, {}, api_key_changed=False)
        agent.delete()


def get_agent(org, agent_id: Any) -> Agent:
    agent = Agent.objects.for_org(org).filter(pk=as_uuid(agent_id)).first()
    if agent is None:
        raise NotFound("No such agent.", code="agent_not_found")
    return agent


def _audit(agent: Agent, action: str, request, changed: dict, *, api_key_changed: bool) -> None:
    trail.record(
        action=action,
        organization=agent.organization,
        request=request,
        target_type="agent",
        target_id=str(agent.pk),
        metadata={
            "name": agent.name,
            "changed": sorted(changed),
            "api_key_changed": api_key_changed,
        },
    )


def _refuse_unknown(names: list[str], known, message: str, code: str) -> None:
    unknown = [name for name in names if name not in known]
    if unknown:
        raise Invalid(message.format(", ".join(unknown)), code=code, details={"unknown": unknown})
