"""The webhook event types: what each one means, its payload's JSON Schema, and how it is
built from the audit event of the change (so it is written in the same transaction).

Every payload is an envelope — `id`, `type`, `version`, `timestamp`, `organization`,
`data` — whose `data` carries the resource's *current* state: deliveries are not ordered
(a retry can arrive after a newer event), so a receiver can always act on the latest.
Nothing in a payload is a secret: no tokens, no tool parameters or results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agents import approval_links
from agents.models import AgentRun, RunStatus
from audit.models import AuditEvent
from connections import authorization
from connections.models import AccountStatus, ConnectedAccount, Connection
from core.tenancy import as_uuid

VERSION = 1


def _obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": required if required is not None else list(properties),
    }


STRING = {"type": "string"}
NULLABLE_STRING = {"type": ["string", "null"]}
ACCOUNT = _obj(
    {
        "id": STRING,
        "connection": STRING,
        "provider": NULLABLE_STRING,
        "identifier": STRING,
        "status": {"enum": [*AccountStatus.values, "DELETED"]},
        "status_reason": STRING,
        "provider_account": NULLABLE_STRING,
    }
)
RUN = _obj(
    {
        "id": STRING,
        "agent": _obj({"id": STRING, "name": STRING}),
        "identifier": STRING,
        "status": {"enum": RunStatus.values},
        "status_reason": STRING,
        "final_text": STRING,
        "url": STRING,
        "created_at": STRING,
        "finished_at": NULLABLE_STRING,
    }
)


@dataclass(frozen=True)
class EventType:
    description: str
    data: dict[str, Any]
    opt_in: bool = False  # sent only to endpoints that list it


EVENT_TYPES: dict[str, EventType] = {
    "connected_account.created": EventType(
        "A person started connecting an account (it becomes ACTIVE when they finish).",
        _obj({"account": ACCOUNT}),
    ),
    "connected_account.status_changed": EventType(
        "An account's status changed, e.g. ACTIVE → EXPIRED: prompt the person to "
        "reconnect with `reconnect_link` (portal users; null otherwise).",
        _obj(
            {
                "account": ACCOUNT,
                "old_status": STRING,
                "new_status": STRING,
                "reason": STRING,
                "reconnect_link": NULLABLE_STRING,
            }
        ),
    ),
    "connected_account.disconnected": EventType(
        "An account was disconnected (its tokens revoked and erased).",
        _obj({"account": ACCOUNT}),
    ),
    "connected_account.identity_changed": EventType(
        "Reconnecting signed in as someone else at the provider.",
        _obj({"account": ACCOUNT, "previous_provider_account": NULLABLE_STRING}),
    ),
    "agent_run.started": EventType("An agent run was queued.", _obj({"run": RUN})),
    "agent_run.awaiting_approval": EventType(
        "A run waits for its person (or an admin) to approve a write: `approve_link`.",
        _obj({"run": RUN, "tool": STRING, "approve_link": STRING}),
    ),
    "agent_run.needs_connection": EventType(
        "A run stopped because the person has no usable account: `connect_link`.",
        _obj({"run": RUN, "connection": STRING, "connect_link": NULLABLE_STRING}),
    ),
    "agent_run.finished": EventType(
        "A run ended: `run.status` succeeded or failed (`run.status_reason` says why).",
        _obj({"run": RUN}),
    ),
    "approval.requested": EventType(
        "A call waits for a person's approval (an agent run's write, an MCP call, a call a "
        "policy rule holds): post `approve_link` where the approvers are. The link is signed, "
        "works once and lapses at `expires_at`; whoever opens it signs in and must be "
        "allowed to decide. Never the call's arguments: the page shows them.",
        _obj(
            {
                "approval": _obj(
                    {
                        "kind": {"enum": ["run", "mcp"]},
                        "id": STRING,
                        "tool": STRING,
                        "requested_by": STRING,
                        "approvers": {"type": "array", "items": STRING},
                        "expires_at": STRING,
                        "approve_link": STRING,
                    }
                )
            }
        ),
    ),
    "tool.executed": EventType(
        "A tool ran (opt-in: list it on the endpoint). Never parameters or results.",
        _obj(
            {
                "execution_id": STRING,
                "tool": STRING,
                "connection": NULLABLE_STRING,
                "identifier": STRING,
                "outcome": STRING,
                "latency_ms": {"type": ["number", "null"]},
                "via": STRING,
                "run_id": NULLABLE_STRING,
            }
        ),
        opt_in=True,
    ),
    "connection.updated": EventType(
        "An admin changed a connection (its provider app settings, scopes, enabled).",
        _obj(
            {
                "connection": _obj(
                    {
                        "id": STRING,
                        "name": STRING,
                        "provider": STRING,
                        "enabled": {"type": "boolean"},
                    }
                )
            }
        ),
    ),
    "webhook.test": EventType(
        "Sent by the Send test event button: check your endpoint and its signature check.",
        _obj({"message": STRING}),
    ),
}


def envelope_schema(event_type: str) -> dict[str, Any]:
    """The whole payload's JSON Schema for one type (served by the API, used in tests)."""
    return _obj(
        {
            "id": {"type": "string", "pattern": "^msg_[0-9a-f]{32}$"},
            "type": {"const": event_type},
            "version": {"const": VERSION},
            "timestamp": STRING,
            "organization": _obj({"id": {"type": "integer"}, "slug": STRING}),
            "data": EVENT_TYPES[event_type].data,
        }
    )


def account_data(account: ConnectedAccount | None, event: AuditEvent) -> dict[str, Any]:
    if account is None:  # deleted since
        return {
            "id": event.target_id,
            "connection": str(event.metadata.get("connection", "")),
            "provider": None,
            "identifier": event.identifier,
            "status": "DELETED",
            "status_reason": "",
            "provider_account": None,
        }
    return {
        "id": str(account.pk),
        "connection": account.connection.name,
        "provider": account.connection.provider,
        "identifier": account.identifier,
        "status": account.status,
        "status_reason": account.status_reason,
        "provider_account": account.provider_account_label or account.provider_account_id or None,
    }


def run_data(run: AgentRun) -> dict[str, Any]:
    return {
        "id": str(run.pk),
        "agent": {"id": str(run.agent_id), "name": run.agent.name},
        "identifier": run.identifier,
        "status": run.status,
        "status_reason": run.status_reason,
        "final_text": run.final_text[:4000],
        "url": authorization.portal_url(f"/runs/{run.pk}/"),
        "created_at": run.created_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


def _account(event: AuditEvent) -> ConnectedAccount | None:
    key = as_uuid(event.target_id)
    accounts = ConnectedAccount.objects.for_org(event.organization).select_related("connection")
    return accounts.filter(pk=key).first() if key else None


def _run(event: AuditEvent) -> AgentRun | None:
    key = as_uuid(event.target_id)
    runs = AgentRun.objects.for_org(event.organization).select_related("agent")
    return runs.filter(pk=key).first() if key else None


def _account_event(event: AuditEvent) -> dict[str, Any]:
    return {"account": account_data(_account(event), event)}


def _status_changed(event: AuditEvent) -> dict[str, Any]:
    account = _account(event)
    new_status = str(event.metadata.get("new_status", ""))
    link = None
    if account is not None and new_status == AccountStatus.EXPIRED:
        link = authorization.reconnect_link(account=account)
    return {
        "account": account_data(account, event),
        "old_status": str(event.metadata.get("old_status", "")),
        "new_status": new_status,
        "reason": str(event.metadata.get("reason", "")),
        "reconnect_link": link,
    }


def _identity_changed(event: AuditEvent) -> dict[str, Any]:
    previous = event.metadata.get("old_provider_account_id")
    return {
        "account": account_data(_account(event), event),
        "previous_provider_account": str(previous) if previous else None,
    }


def _run_event(event: AuditEvent) -> tuple[str, dict[str, Any]] | None:
    run = _run(event)
    if run is None:
        return None
    data: dict[str, Any] = {"run": run_data(run)}
    if event.action == "agent_run.started":
        return "agent_run.started", data
    if event.action == "agent_run.awaiting_approval":
        data |= {"tool": str(event.metadata.get("tool", "")), "approve_link": data["run"]["url"]}
        return "agent_run.awaiting_approval", data
    if run.status == RunStatus.NEEDS_CONNECTION:
        data |= {"connection": run.connection_name, "connect_link": run.authorization_link or None}
        return "agent_run.needs_connection", data
    return "agent_run.finished", data


def _tool_executed(event: AuditEvent) -> dict[str, Any]:
    meta = event.metadata
    latency = meta.get("latency_ms")
    return {
        "execution_id": str(meta.get("execution_id", "")),
        "tool": str(meta.get("tool", "")),
        "connection": str(meta["connection"]) if meta.get("connection") else None,
        "identifier": event.identifier,
        "outcome": event.outcome,
        "latency_ms": float(latency) if isinstance(latency, int | float) else None,
        "via": str(meta.get("via", "")),
        "run_id": str(meta["run_id"]) if meta.get("run_id") else None,
    }


def _approval_requested(event: AuditEvent) -> dict[str, Any] | None:
    meta = event.metadata
    if event.organization is None:
        return None
    link = approval_links.webhook_link(event.organization, as_uuid(meta.get("link")))
    if link is None:
        return None
    approvers = meta.get("approvers")
    return {
        "approval": {
            "kind": event.target_type,
            "id": event.target_id,
            "tool": str(meta.get("tool", "")),
            "requested_by": event.identifier,
            "approvers": [str(a) for a in approvers] if isinstance(approvers, list) else [],
            "expires_at": str(meta.get("expires_at", "")),
            "approve_link": link,
        }
    }


def _connection_updated(event: AuditEvent) -> dict[str, Any] | None:
    # The audit event names the connection by its name (unique in the organization and
    # never changed), as people read it.
    connection = Connection.objects.for_org(event.organization).filter(name=event.target_id).first()
    if connection is None:
        return None
    return {
        "connection": {
            "id": str(connection.pk),
            "name": connection.name,
            "provider": connection.provider,
            "enabled": connection.enabled,
        }
    }


def _same(name: str, build: Callable[[AuditEvent], dict[str, Any] | None]):
    def builder(event: AuditEvent) -> tuple[str, dict[str, Any]] | None:
        data = build(event)
        return (name, data) if data is not None else None

    return builder


# Audit action → (webhook type, data), or None when there is nothing to say.
BUILDERS: dict[str, Callable[[AuditEvent], tuple[str, dict[str, Any]] | None]] = {
    "connected_account.created": _same("connected_account.created", _account_event),
    "connected_account.status_changed": _same("connected_account.status_changed", _status_changed),
    "connected_account.disconnected": _same("connected_account.disconnected", _account_event),
    "connected_account.identity_changed": _same(
        "connected_account.identity_changed", _identity_changed
    ),
    "agent_run.started": _run_event,
    "agent_run.awaiting_approval": _run_event,
    "agent_run.finished": _run_event,
    "tool.executed": _same("tool.executed", _tool_executed),
    "approval.requested": _same("approval.requested", _approval_requested),
    "connection.updated": _same("connection.updated", _connection_updated),
}

# Which webhook types an audit action may turn into (to skip the work when no endpoint
# wants any of them).
TYPES_OF_ACTION = {
    "agent_run.finished": {"agent_run.finished", "agent_run.needs_connection"},
    "agent_run.started": {"agent_run.started"},
    "agent_run.awaiting_approval": {"agent_run.awaiting_approval"},
}


def possible_types(action: str) -> set[str]:
    if action in TYPES_OF_ACTION:
        return TYPES_OF_ACTION[action]
    return {action} if action in BUILDERS else set()
