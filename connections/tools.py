"""The per-user tool surface and tool execution as the user (DESIGN §4 flow 7).

`list_tools` offers only tools of the identifier's ACTIVE accounts whose
required scopes were granted and which the connection has not disabled.
`execute_tool` validates the input against the tool's JSON Schema before any
network call, runs the provider handler with the user's own token (refreshing
once on a 401), maps failures to portal errors, and audits every call.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from jsonschema import Draft202012Validator

from connections import audit, oauth
from connections.http import provider_client
from connections.models import AccountStatus, AuthorizationRequest, ConnectedAccount
from connections.providers import PROVIDERS
from connections.tooling import TokenRejected, Tool, ToolContext, ToolForbidden, ToolInvalid
from portal.errors import NotFound, PortalError
from portal.models import Organization
from portal.prepared import PreparedQuery

LAST_USED_RESOLUTION = timedelta(seconds=60)


@cache
def tool_registry() -> dict[str, Tool]:
    return {tool.name: tool for provider in PROVIDERS.values() for tool in provider.tools}


@cache
def _validator(tool_name: str) -> Draft202012Validator:
    return Draft202012Validator(tool_registry()[tool_name].input_schema)


@dataclass(frozen=True)
class AvailableTool:
    tool: Tool
    connection_name: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.tool.name,
            "description": self.tool.description,
            "input_schema": self.tool.input_schema,
            "connection_name": self.connection_name,
            "provider": self.tool.provider,
            "required_scopes": list(self.tool.required_scopes),
            "write": self.tool.write,
        }


def _active_accounts(org, identifier: str, connection_name: str | None = None):
    accounts = (
        ConnectedAccount.objects.for_org(org)
        .filter(identifier=identifier, status=AccountStatus.ACTIVE, connection__enabled=True)
        .select_related("connection")
    )
    if connection_name:
        accounts = accounts.filter(connection__name=connection_name)
    return accounts


def _allowed(tool: Tool, account: ConnectedAccount) -> bool:
    return tool.name not in account.connection.disabled_tools and set(tool.required_scopes) <= set(
        account.scopes
    )


def list_tools(org, identifier: str, connection_name: str | None = None) -> list[AvailableTool]:
    """One query, whatever the number of tools or accounts."""
    available = []
    for account in _active_accounts(org, identifier, connection_name).order_by("connection__name"):
        for tool in account.connection.provider_spec.tools:
            if _allowed(tool, account):
                available.append(AvailableTool(tool, account.connection.name))
    return available


def validate_params(tool: Tool, params: Any) -> dict[str, Any]:
    errors = sorted(_validator(tool.name).iter_errors(params), key=lambda e: e.json_path)
    if errors:
        details = [{"path": error.json_path, "message": error.message} for error in errors]
        raise ToolInvalid(
            f"Invalid input for {tool.name}: "
            + "; ".join(f"{d['path']}: {d['message']}" for d in details),
            details={"errors": details},
        )
    return params


def _accounts_for_tool(org, identifier: str, provider: str, connection_name: str = ""):
    accounts = (
        ConnectedAccount.objects.for_org(org)
        .filter(identifier=identifier, connection__provider=provider, connection__enabled=True)
        .select_related("connection")
        .order_by("connection__name")
    )
    if connection_name:
        accounts = accounts.filter(connection__name=connection_name)
    return accounts[:10]


# Every tool call starts here; compiled once (portal/prepared.py explains why).
_ACCOUNTS_FOR_TOOL = PreparedQuery(
    _accounts_for_tool, org=Organization, identifier=str, provider=str
)
_ACCOUNTS_FOR_TOOL_ON_CONNECTION = PreparedQuery(
    _accounts_for_tool, org=Organization, identifier=str, provider=str, connection_name=str
)


def _resolve_account(
    org, identifier: str, tool: Tool, connection_name: str | None
) -> ConnectedAccount:
    query, values = _ACCOUNTS_FOR_TOOL, {}
    if connection_name:
        query, values = _ACCOUNTS_FOR_TOOL_ON_CONNECTION, {"connection_name": connection_name}
    candidates = query.run(org=org, identifier=identifier, provider=tool.provider, **values)
    for candidate in candidates:
        candidate.organization = org  # known already: no join, no extra query
    active = [a for a in candidates if a.status == AccountStatus.ACTIVE]
    if not candidates:
        raise NotFound(
            f"{identifier!r} has no {tool.provider} account connected.",
            code="no_connected_account",
            details={"provider": tool.provider, "identifier": identifier},
        )
    if not active:
        raise needs_reauthorization(candidates[0])
    account = active[0]
    if not _allowed(tool, account):
        missing = sorted(set(tool.required_scopes) - set(account.scopes))
        raise ToolForbidden(
            f"{tool.name} is not available to this account"
            + (f" (missing scopes: {', '.join(missing)})" if missing else " (disabled by an admin)")
            + ".",
            code="tool_not_allowed",
            details={"missing_scopes": missing},
        )
    return account


def needs_reauthorization(account: ConnectedAccount) -> oauth.NeedsReauthorization:
    """409 with a fresh link when the account's owner is a portal user who can finish it."""
    error = oauth._needs_reauthorization(account)
    link = None
    if account.user_id is not None and account.connection.enabled:
        auth_request = oauth.create_authorization_request(
            account=account, flow=AuthorizationRequest.Flow.PORTAL
        )
        link = oauth.authorization_link(auth_request)
    error.details["authorization_link"] = link
    return error


def _run(tool: Tool, account: ConnectedAccount, params: dict, ctx_box: list) -> Any:
    try:
        return _call_with_refresh(tool, account, params, ctx_box)
    except oauth.NeedsReauthorization:
        account.refresh_from_db(fields=["status", "status_reason"])
        raise needs_reauthorization(account) from None


def _call_with_refresh(tool: Tool, account: ConnectedAccount, params: dict, ctx_box: list) -> Any:
    connection = account.connection
    token = oauth.get_access_token(account, reread=False)  # the row was read just now
    for attempt in (1, 2):
        ctx = ToolContext(
            access_token=token,
            api_base_url=connection.endpoint("api_base_url"),
            http=provider_client(),
            headers=dict(connection.provider_spec.api_headers),
        )
        ctx_box[:] = [ctx]
        try:
            return tool.handler(ctx, params)
        except TokenRejected:
            if attempt == 2:
                oauth._expire(account, "The provider rejected a freshly refreshed token.")
                raise oauth.NeedsReauthorization("Re-authorization needed.") from None
            # DESIGN §7 rule 7: refresh only if the stored token is still the one that failed.
            token = oauth.refresh_access_token(account, failed_access_token=token)
    raise AssertionError("unreachable")


def execute_tool(
    org,
    identifier: str,
    tool_name: str,
    params: Any,
    connection_name: str | None = None,
    *,
    actor: audit.Actor | None = None,
    request: HttpRequest | None = None,
    run_id: str | None = None,
) -> dict[str, Any]:
    """Run one tool as the identifier's connected account → {"data", "execution_id"}."""
    execution_id = uuid.uuid4().hex
    started = time.perf_counter()
    tool = tool_registry().get(tool_name)
    ctx_box: list[ToolContext] = []
    outcome, status, error = audit.AuditEvent.Outcome.SUCCESS, 200, None
    account = None
    try:
        if tool is None:
            raise NotFound(f"No tool named {tool_name!r}.", code="tool_not_found")
        validate_params(tool, params)
        account = _resolve_account(org, identifier, tool, connection_name)
        data = _run(tool, account, params, ctx_box)
    except PortalError as exc:
        error, status = exc, exc.status
        outcome = (
            audit.AuditEvent.Outcome.DENIED
            if exc.status in (403, 409)
            else audit.AuditEvent.Outcome.FAILURE
        )
    latency_ms = round((time.perf_counter() - started) * 1000, 1)
    if account is not None and (
        account.last_used_at is None or timezone.now() - account.last_used_at > LAST_USED_RESOLUTION
    ):
        ConnectedAccount.objects.filter(pk=account.pk).update(last_used_at=timezone.now())
    audit.record(
        action="tool.executed",
        organization=org,
        actor=actor,
        request=request,
        identifier=identifier,
        target_type="tool",
        target_id=tool_name[:255],
        outcome=outcome,
        metadata={
            "tool": tool_name[:100],
            "connection": account.connection.name if account else connection_name,
            "execution_id": execution_id,
            "status": status,
            "provider_status": ctx_box[0].http_status if ctx_box else None,
            "latency_ms": latency_ms,
            "params": params if isinstance(params, dict) else str(params)[:200],
            "error": error.code if error else None,
            "run_id": run_id,
        },
    )
    if error is not None:
        error.details = {**(error.details or {}), "execution_id": execution_id}
        raise error
    return {"data": data, "execution_id": execution_id}
