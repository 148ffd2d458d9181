"""The per-user tool surface and tool execution as the user (DESIGN §4 flow 7).

`list_tools` offers only tools of the caller's ACTIVE accounts whose required scopes
were granted and which the connection has not disabled. A tool is identified by
(connection, tool): when the caller has accounts on two connections of one provider
(github.com and GitHub Enterprise), its names are qualified as `<connection>__<tool>`.

`execute_tool` validates the input against the tool's JSON Schema (and refuses text the
audit trail could not store) before any network call, then writes a write's audit event
*ahead* of the provider call (DESIGN §12 rule 17: a pending event in its own commit),
runs the handler with the user's own token (refreshing once on a 401), and completes the
event with the outcome (a read has one event, after the call).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any, TypeVar

from django.db import DatabaseError
from django.http import HttpRequest
from django.utils import timezone
from jsonschema import Draft202012Validator

from audit import trail
from audit.models import AuditEvent
from connections import accounts, authorization, budgets, control, dlp, lookup, policy, tokens
from connections.errors import (
    NeedsReauthorization,
    TokenRejected,
    ToolCrashed,
    ToolForbidden,
    ToolInvalid,
)
from connections.identity import context_for
from connections.models import AccountStatus, ConnectedAccount
from connections.providers import providers
from connections.tooling import Tool, ToolContext
from core.dependencies import Unavailable
from core.errors import NotFound, PortalError
from core.text import first_unstorable_path
from portal.callers import Caller

logger = logging.getLogger(__name__)
T = TypeVar("T")

LAST_USED_RESOLUTION = timedelta(seconds=60)
QUALIFIER = "__"


@cache
def tool_registry() -> dict[str, Tool]:
    return {tool.name: tool for provider in providers().values() for tool in provider.tools}


@cache
def _validator(tool_name: str) -> Draft202012Validator:
    return Draft202012Validator(tool_registry()[tool_name].input_schema)


@dataclass(frozen=True)
class AvailableTool:
    tool: Tool
    connection_name: str
    name: str  # what callers and models use: the tool's name, qualified when needed

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "tool": self.tool.name,
            "description": self.tool.description,
            "input_schema": self.tool.model_schema,
            "connection_name": self.connection_name,
            "provider": self.tool.provider,
            "required_scopes": list(self.tool.required_scopes),
            "write": self.tool.write,
        }


def _allowed(tool: Tool, account: ConnectedAccount) -> bool:
    return not missing_scopes(tool, account) and tool.name not in account.connection.disabled_tools


def missing_scopes(tool: Tool, account: ConnectedAccount) -> list[str]:
    return sorted(set(tool.required_scopes) - set(account.scopes))


def list_tools(
    *,
    caller: Caller,
    connection_name: str | None = None,
    context: policy.Context | None = None,
) -> list[AvailableTool]:
    """One query, whatever the number of tools or accounts. Tools the organization's
    policy denies outright in this `context` (by default: the API) are left out."""
    active = (
        ConnectedAccount.objects.for_org(caller.organization)
        .filter(identifier=caller.identifier, status=AccountStatus.ACTIVE, connection__enabled=True)
        .select_related("connection")
        .order_by("connection__name", "-is_default")
    )
    if connection_name:
        active = active.filter(connection__name=connection_name)
    if caller.test_mode:
        active = active.filter(connection__sandbox=True)
    by_connection: dict[str, list[ConnectedAccount]] = {}
    for account in active:
        by_connection.setdefault(account.connection.name, []).append(account)
    providers_seen = Counter(found[0].connection.provider for found in by_connection.values())
    available = []
    for name, connection_accounts in by_connection.items():
        connection = connection_accounts[0].connection
        qualify = providers_seen[connection.provider] > 1
        for tool in connection.provider_spec.tools:
            if any(_allowed(tool, account) for account in connection_accounts):
                shown = f"{name}{QUALIFIER}{tool.name}" if qualify else tool.name
                available.append(AvailableTool(tool, name, shown))
    return policy.visible(available, context or policy.Context(caller=caller))


def coerce_to_schema(tool: Tool, params: Any) -> Any:
    """Where a tool's schema asks for text at the top level, a whole number is taken as its
    digits (monday's numeric ids) and an object or list as its JSON (column values,
    Salesforce fields): portable schemas have one type per value, and clients that sent
    these the other way keep working."""
    if not isinstance(params, dict):
        return params
    properties = tool.input_schema.get("properties", {})
    coerced = dict(params)
    for name, value in params.items():
        if properties.get(name, {}).get("type") != "string" or isinstance(value, bool):
            continue
        if isinstance(value, int):
            coerced[name] = str(value)
        elif isinstance(value, (dict, list)):
            coerced[name] = json.dumps(value, ensure_ascii=False)
    return coerced


def validate_params(tool: Tool, params: Any) -> dict[str, Any]:
    """The input as the tool takes it (see coerce_to_schema); the schema's errors, all of
    them, with paths; and no text storage can't hold."""
    params = coerce_to_schema(tool, params)
    errors = sorted(_validator(tool.name).iter_errors(params), key=lambda e: e.json_path)
    if errors:
        details = [{"path": error.json_path, "message": error.message} for error in errors]
        raise ToolInvalid(
            f"Invalid input for {tool.name}: "
            + "; ".join(f"{d['path']}: {d['message']}" for d in details),
            details={"errors": details},
        )
    try:
        bad_path = first_unstorable_path(params)
    except ValueError:
        bad_path = "$"
    if bad_path is not None:
        raise ToolInvalid(
            f"Invalid input for {tool.name}: {bad_path} contains NUL characters or lone "
            "surrogates, which are not accepted.",
            details={"errors": [{"path": bad_path, "message": "unacceptable characters"}]},
        )
    return params


def resolve_tool(name: str, connection_name: str | None) -> tuple[Tool, str | None]:
    """A tool by its plain or qualified name (`<connection>__<tool>`)."""
    tool = tool_registry().get(name)
    if tool is None and QUALIFIER in name:
        qualifier, _, plain = name.partition(QUALIFIER)
        tool = tool_registry().get(plain)
        if tool is not None:
            if connection_name and connection_name != qualifier:
                raise ToolInvalid("The tool name names another connection than connection_name.")
            connection_name = qualifier
    if tool is None:
        raise NotFound(f"No tool named {name!r}.", code="tool_not_found")
    return tool, connection_name


def _check_allowed(tool: Tool, account: ConnectedAccount, request: HttpRequest | None) -> None:
    if tool.name in account.connection.disabled_tools:
        raise ToolForbidden(
            f"{tool.name} is disabled on {account.connection.name} by an admin.",
            code="tool_not_allowed",
            details={"missing_scopes": []},
        )
    missing = missing_scopes(tool, account)
    if missing:
        # Incremental consent: a link that asks for what is missing, in addition.
        raise ToolForbidden(
            f"{tool.name} needs scopes this account has not granted: {', '.join(missing)}. "
            "Authorize again to grant them.",
            code="insufficient_scope",
            details={
                "missing_scopes": missing,
                "authorization_link": authorization.reconnect_link(
                    account=account, extra_scopes=tuple(missing), request=request
                ),
            },
        )


class AccountCall:
    """Calls as one connected account with its own token — refreshed once on a 401, and
    only if the stored token is still the one that failed (DESIGN §7 rule 7) — keeping
    what the provider last answered, for the audit trail."""

    def __init__(self, account: ConnectedAccount) -> None:
        self.account = account
        self.context: ToolContext | None = None

    @property
    def provider_status(self) -> int | None:
        return self.context.http_status if self.context else None

    def attempt(self, call: Callable[[ToolContext], T]) -> T:
        """`call(ctx)` with the account's token, a second time after a refresh on a 401."""
        account = self.account
        token = tokens.get_access_token(account, reread=False)  # the row was read just now
        for attempt in (1, 2):
            self.context = context_for(account.connection, token, account.provider_data or {})
            try:
                return call(self.context)
            except TokenRejected:
                if attempt == 2:
                    tokens.expire(account, "The provider rejected a freshly refreshed token.")
                    raise accounts.needs_reauthorization(account) from None
                token = tokens.refresh_access_token(account, failed_access_token=token)
        raise AssertionError("unreachable")

    def run(self, call: Callable[[ToolContext], T], *, request: HttpRequest | None = None) -> T:
        """`attempt`, with failures a person can act on: a reconnect link when the account
        needs authorizing, and a logged ToolCrashed when provider code broke on an answer."""
        try:
            return self.attempt(call)
        except NeedsReauthorization as error:
            self.account.refresh_from_db(fields=["status", "status_reason"])
            raise lookup.with_reconnect_link(error, self.account, request=request) from None
        except PortalError:
            raise
        except Exception:
            provider = self.account.connection.provider
            logger.exception("%s code failed on the provider's answer", provider)
            raise ToolCrashed(
                "The tool failed on the provider's answer; the error was logged."
            ) from None


def _outcome(error: PortalError | None) -> str:
    if error is None:
        return AuditEvent.Outcome.SUCCESS
    return AuditEvent.Outcome.DENIED if error.status in (403, 409) else AuditEvent.Outcome.FAILURE


def execute_tool(
    *,
    caller: Caller,
    tool_name: str,
    params: Any,
    connection_name: str | None = None,
    account_id: Any = None,
    run_id: str | None = None,
    via: str = "api",
    actor: trail.Actor | None = None,
    request: HttpRequest | None = None,
    audit_context: dict[str, str] | None = None,
    write_gate: Callable[[Tool, dict[str, Any], control.Verdict], None] | None = None,
    within: Callable[[Tool], bool] | None = None,
    agent: str = "",
    approved: bool = False,
    carried: trail.Carried | None = None,
) -> dict[str, Any]:
    """Run one tool as the caller's connected account → {"data", "execution_id"}.
    `audit_context` joins the audit metadata (e.g. the MCP client's id); `write_gate` is
    asked before a write — or a call a policy rule wants approved — is sent, once the call
    is resolved and valid, and may refuse it with a PortalError (MCP's approvals); a
    caller that already had the call approved (an agent run) says `approved`; `within`
    limits the call to some tools (a toolset): any other is refused as not allowed, before
    anything is sent. A read's event may be `carried` to the caller's next statement."""
    execution_id = uuid.uuid4().hex
    started = time.perf_counter()
    protection = caller.organization.data_protection
    actor = actor or trail.Actor.of(caller)
    base = {
        "tool": str(tool_name)[:100],
        "connection": connection_name,
        "execution_id": execution_id,
        # As recorded: what data protection would redact or block is redacted here.
        "params": dlp.protect(params, settings=protection, blocking=False)[0]
        if isinstance(params, dict)
        else str(params)[:200],
        "run_id": run_id,
        "via": via,
        **({"agent": agent[:100]} if agent else {}),
        **(audit_context or {}),
    }
    calling: AccountCall | None = None
    intent, provider, resolved = None, "", "unknown"
    data, error = None, None
    try:
        tool, connection_name = resolve_tool(str(tool_name), connection_name)
        provider, resolved = tool.provider, tool.name
        if within is not None and not within(tool):
            raise ToolForbidden(
                f"{tool.name} is not in the toolset this caller is limited to.",
                code="tool_not_allowed",
                details={"missing_scopes": []},
            )
        account = lookup.resolve_account(
            caller=caller,
            provider=tool.provider,
            connection_name=connection_name,
            account_id=account_id,
        )
        _check_allowed(tool, account, request)
        params = validate_params(tool, params)  # still before any network call
        client_id = (audit_context or {}).get("client_id", "")
        context = policy.Context(caller=caller, via=via, agent=agent, client_id=client_id)
        outgoing, found = dlp.protect(params, settings=protection, direction="arguments")
        base["params"], _ = dlp.protect(params, settings=protection, blocking=False)
        # Rules see the arguments as given; the hook sees what the provider would get.
        verdict = control.check_call(tool, params, context, audit=base, outgoing=outgoing)
        params = outgoing
        if found:
            base["dlp_arguments"] = found  # counts by detector, never a value
        base |= {
            "tool": tool.name,
            "connection": account.connection.name,
            "account": str(account.pk),
        }
        verdict.wants_approval = verdict.wants_approval and not approved
        if (tool.write or verdict.wants_approval) and write_gate is not None:
            write_gate(tool, params, verdict)
        elif verdict.wants_approval:
            raise control.approval_refused(tool, verdict)
        if tool.write:
            # Written ahead (its own commit): a side effect never goes without its event.
            # A read changes nothing at the provider: its one event comes after the call.
            intent = trail.begin(
                action="tool.executed",
                started_action="tool.started",
                organization=caller.organization,
                actor=actor,
                request=request,
                identifier=caller.identifier,
                target_type="tool",
                target_id=tool.name,
                metadata=base,
            )
        calling = AccountCall(account)
        data = calling.run(lambda ctx: tool.handler(ctx, params), request=request)
        _touch(account)
        data, found = dlp.shielded(data, protection)
        if found:
            base["dlp_results"] = found
    except PortalError as exc:
        error = exc
    if error is not None and isinstance(error.details, dict) and error.details.get("rule_id"):
        base["policy_rule"] = error.details["rule_id"]  # the rule that refused it
    metadata = {
        **base,
        "status": error.status if error else 200,
        "provider_status": calling.provider_status if calling else None,
        "latency_ms": round((time.perf_counter() - started) * 1000, 1),
        "error": error.code if error else None,
    }
    spender = budgets.Spender(caller.organization, caller.identifier, agent)
    # The call's usage row is written with its event: one statement on PostgreSQL.
    usage = control.call_usage(spender, provider=provider, called=calling is not None, error=error)
    try:
        if intent is not None:
            trail.complete(
                intent, outcome=_outcome(error), request=request, metadata=metadata, along=usage
            )
        else:  # a read, or refused before any provider call: one event says how it went
            trail.record(
                action="tool.executed",
                organization=caller.organization,
                actor=actor,
                request=request,
                identifier=caller.identifier,
                target_type="tool",
                target_id=str(tool_name)[:255],
                outcome=_outcome(error),
                metadata=metadata,
                along=usage,
                carried=carried,
            )
    except DatabaseError:
        if intent is None:
            raise
        # The provider saw the call, the database did not take its outcome: say so (the
        # write-ahead event reads "outcome unknown" once the database is back).
        raise Unavailable(
            f"{tool_name} was sent to the provider, but its outcome could not be "
            "recorded: the database is not answering. Check before you try it again.",
            code="outcome_unknown",
            retry_after=5,
        ).with_details(execution_id=execution_id) from None
    control.observe_call(
        provider=provider,
        called=calling is not None,
        error=error,
        tool=resolved,
        via=via,
        execution_id=execution_id,
        seconds=time.perf_counter() - started,
    )
    if error is not None:
        error.details = {**(error.details or {}), "execution_id": execution_id}
        raise error
    return {"data": data, "execution_id": execution_id}


def _touch(account: ConnectedAccount) -> None:
    now = timezone.now()
    if account.last_used_at is None or now - account.last_used_at > LAST_USED_RESOLUTION:
        ConnectedAccount.objects.filter(pk=account.pk).update(last_used_at=now)
