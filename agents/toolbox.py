"""What a run may use: whom it acts as, the tools it is offered (the caller's tools
within the agent's allow-lists), and the connection it lacks when it has none."""

from __future__ import annotations

from typing import Any

from agents.models import Agent, AgentRun
from agents.pending import PendingCall
from connections import accounts, authorization, lookup, policy, tools, toolsets
from connections.models import AccountStatus, ConnectedAccount, Connection
from portal.callers import Caller


def run_caller(run: AgentRun) -> Caller:
    """Whom a run acts as: its identifier, for its user or the API key that started it."""
    return Caller(
        organization=run.organization, user=run.user, api_key=run.api_key, identifier=run.identifier
    )


def agent_tools(agent: Agent, caller: Caller) -> dict[str, tools.AvailableTool]:
    """The caller's tools ∩ the agent's allow-lists (empty list = no restriction) ∩ its
    toolset, by the name the model sees (qualified when the user has two connections of a
    provider)."""
    available = {}
    context = policy.Context(caller=caller, via="agent", agent=agent.name)
    listed = tools.list_tools(caller=caller, context=context)
    for entry in toolsets.narrowed(listed, [agent.toolset]):
        if agent.allowed_connections and entry.connection_name not in agent.allowed_connections:
            continue
        if agent.allowed_tools and entry.tool.name not in agent.allowed_tools:
            continue
        available[entry.name] = entry
    return available


def model_tool(entry: tools.AvailableTool) -> dict[str, Any]:
    """A tool as Chat Completions offers it to the model."""
    return {
        "type": "function",
        "function": {
            "name": entry.name,
            "description": entry.tool.description,
            "parameters": entry.tool.model_schema,
        },
    }


def look_up_ahead(
    available: dict[str, tools.AvailableTool], caller: Caller, calls: list[dict[str, Any]]
) -> None:
    """Send the account lookup of a message's first tool call now, without waiting
    (connections/lookup.look_up_ahead): it runs while the step asking for the calls is
    built, and the call takes its answer."""
    entry = available.get(PendingCall(calls[0]).name) if calls else None
    if entry is not None:
        lookup.look_up_ahead(
            caller=caller, provider=entry.tool.provider, connection_name=entry.connection_name
        )


def missing_connection(agent: Agent, run: AgentRun) -> Connection | None:
    """A connection the agent uses on which the run's identifier has no active account."""
    connections = Connection.objects.for_org(run.organization).filter(enabled=True).order_by("name")
    if agent.allowed_connections:
        connections = connections.filter(name__in=agent.allowed_connections)
    active = set(
        ConnectedAccount.objects.for_org(run.organization)
        .filter(identifier=run.identifier, status=AccountStatus.ACTIVE)
        .values_list("connection_id", flat=True)
    )
    return next((c for c in connections if c.pk not in active), None)


def connection_link(connection: Connection, run: AgentRun) -> str:
    """A portal connect link for the run's user; "" for identifiers that are not portal users."""
    account, _ = accounts.get_or_create_connected_account(
        organization=run.organization, connection=connection, identifier=run.identifier
    )
    return authorization.reconnect_link(account=account) or ""
