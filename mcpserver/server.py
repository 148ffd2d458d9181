"""The MCP server: the caller's own tools, run as the caller through `execute_tool`.

Built on the official SDK's low-level `Server` (the engine under `MCPServer`): MCPServer's
decorators register one fixed tool set for everyone, while here `tools/list` is
`list_tools` for the person (or API key + identifier) behind each request. The SDK serves
both protocol eras (2026-07-28 stateless; 2025-06-18 / 2025-11-25 with `initialize` and
sessions) from one Streamable HTTP endpoint. mcpserver/gate.py authenticates each HTTP
request and leaves its `Principal` in the ASGI scope, where the handlers find it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import mcp_types as types
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from mcp.server.lowlevel.server import Server

from connections import discovery, policy, results, tools, toolsets
from core.errors import Conflict, PortalError
from mcpserver import approvals
from mcpserver.access import Principal

PRINCIPAL = "portal.principal"  # the ASGI scope key mcpserver/gate.py sets
T = TypeVar("T")

INSTRUCTIONS = (
    "These are the tools of the person who signed in, in their SaaS accounts (monday.com, "
    "GitHub, Slack, Google, Microsoft 365, …), run as that person. Tools that change data "
    "are marked destructive; the organization may require the person's approval first."
)


async def in_thread(fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Run ORM and provider work in a worker thread, with a fresh-enough connection."""

    def work() -> T:
        close_old_connections()
        try:
            return fn(**kwargs)
        finally:
            close_old_connections()

    return await sync_to_async(work, thread_sensitive=False)()


def principal_of(ctx: Any) -> Principal:
    return ctx.request.scope[PRINCIPAL]


def mcp_tool(entry: tools.AvailableTool) -> types.Tool:
    tool = entry.tool
    return types.Tool(
        name=entry.name,
        title=tool.name.replace("_", " "),
        description=tool.description,
        input_schema=tool.model_schema,
        annotations=types.ToolAnnotations(
            read_only_hint=not tool.write,
            destructive_hint=tool.write,
            open_world_hint=True,
        ),
    )


def meta_tool(name: str, description: str, schema: dict[str, Any]) -> types.Tool:
    return types.Tool(
        name=name,
        title=name.replace("_", " "),
        description=description,
        input_schema=schema,
        # What it does depends on the tool it names: call_tool may change data.
        annotations=types.ToolAnnotations(
            read_only_hint=name != discovery.CALL, destructive_hint=name == discovery.CALL
        ),
    )


def _discovery_tools() -> list[types.Tool]:
    listed = []
    for spec in discovery.DISCOVERY_TOOLS:
        function = spec["function"]
        schema = function["parameters"]
        if function["name"] == discovery.CALL:
            # MCP clients send objects as they are; a JSON string is taken too.
            schema = {
                **schema,
                "properties": {
                    **schema["properties"],
                    "arguments": {
                        "type": "object",
                        "description": "The tool's arguments, matching its input schema "
                        "(a JSON string of them is taken too).",
                    },
                },
            }
        listed.append(meta_tool(function["name"], function["description"], schema))
    return listed


DISCOVERY = _discovery_tools()
READ_RESULT = meta_tool(
    results.READ_RESULT, results.READ_RESULT_DESCRIPTION, results.READ_RESULT_SCHEMA
)


def available_for(principal: Principal) -> dict[str, tools.AvailableTool]:
    """The caller's tools within the toolsets they are limited to, by the name shown."""
    context = policy.Context(caller=principal.caller, via="mcp", client_id=principal.client_id)
    entries = tools.list_tools(caller=principal.caller, context=context)
    return {entry.name: entry for entry in toolsets.narrowed(entries, principal.toolsets)}


def list_for(principal: Principal) -> list[types.Tool]:
    available = available_for(principal)
    if not available:
        return []  # no tools, nothing to discover or read
    if discovery.uses_discovery(principal.tool_mode, len(available)):
        return [*DISCOVERY, READ_RESULT]
    return [*(mcp_tool(entry) for entry in available.values()), READ_RESULT]


def data_result(payload: dict[str, Any]) -> types.CallToolResult:
    text = json.dumps(payload, default=str)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)],
        structured_content=json.loads(text),
        is_error=False,
    )


def error_result(code: str, message: str, **details: Any) -> types.CallToolResult:
    error = {"code": code, "message": message, **({"details": details} if details else {})}
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=json.dumps({"error": error}))],
        structured_content={"error": error},
        is_error=True,
    )


# What the REST API says about a call the caller's tool list does not offer; MCP clients
# see one answer for it: the name is not one of their tools.
NOT_OFFERED = {"tool_not_found", "no_connected_account", "tool_not_allowed", "insufficient_scope"}


class ApprovalRequired(Conflict):
    code = "approval_required"


def call(*, principal: Principal, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
    """tools/call: the meta-tools (discovery, read_result) answered here; any tool — named
    directly or through call_tool — on the same path as the REST API (resolution,
    validation, scopes, audit — each once), via "mcp", within the caller's toolsets; a
    write first passes the organization's approvals."""
    if name == discovery.CALL:
        unwrapped = discovery.unwrap(
            {"function": {"name": name, "arguments": json.dumps(arguments, default=str)}}
        )["function"]
        try:
            inner = json.loads(unwrapped["arguments"])
        except ValueError:
            inner = None
        if unwrapped["name"] in discovery.META_TOOLS or not isinstance(inner, dict):
            return error_result(
                "invalid_arguments", "call_tool needs a tool's name and its arguments as an object."
            )
        return call_tool(principal=principal, name=unwrapped["name"], arguments=inner)
    if name == discovery.SEARCH:
        found = discovery.search(
            available_for(principal), arguments.get("query"), arguments.get("limit", 5)
        )
        return data_result(found)
    if name == discovery.DESCRIBE:
        described = discovery.describe(available_for(principal), arguments.get("name"))
        if described is None:
            return error_result("tool_not_available", "No tool of yours has that name.")
        return data_result(described)
    if name == results.READ_RESULT:
        page = results.read(
            organization=principal.caller.organization,
            identifier=principal.caller.identifier,
            handle=arguments.get("handle"),
            offset=arguments.get("offset", 0),
            length=settings.MCP_RESULT_LIMIT,
        )
        if page is None:
            return error_result("result_not_found", "No result of yours has that handle.")
        return data_result(page)
    return call_tool(principal=principal, name=name, arguments=arguments)


def call_tool(
    *, principal: Principal, name: str, arguments: dict[str, Any]
) -> types.CallToolResult:
    caller = principal.caller

    def approved_first(tool: Any, params: dict[str, Any], verdict: Any) -> None:
        waiting = approvals.gate(
            caller=caller,
            client_id=principal.client_id,
            tool_name=name,
            arguments=arguments,
            required=verdict.wants_approval,
            approvers=verdict.approvers,
        )
        if waiting is not None:
            url = approvals.link(waiting)
            raise ApprovalRequired(
                f"This action needs approval first. Open {url} to approve it, then call the "
                "tool again with the same arguments.",
                details={"approval_url": url},
            )

    try:
        result = tools.execute_tool(
            caller=caller,
            tool_name=name,
            params=arguments,
            via="mcp",
            audit_context={"client_id": principal.client_id[:255]},
            write_gate=approved_first,
            within=toolsets.within(principal.toolsets),
        )
    except PortalError as exc:
        if exc.code in NOT_OFFERED:
            return error_result("tool_not_available", f"{name} is not one of your tools.")
        details = exc.details if isinstance(exc.details, dict) else {}
        return error_result(exc.code, exc.message, **details)
    text, stored = results.bounded(
        text=json.dumps(result["data"], default=str),
        limit=settings.MCP_RESULT_LIMIT,
        organization=caller.organization,
        identifier=caller.identifier,
        execution_id=result["execution_id"],
    )
    # Too large: the first part, the size and a handle for read_result, in both forms.
    shown = json.loads(text) if stored is not None else result["data"]
    payload = {"data": shown, "execution_id": result["execution_id"]}
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)],
        structured_content=json.loads(json.dumps(payload, default=str)),
        is_error=False,
    )


async def _on_list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
    return types.ListToolsResult(tools=await in_thread(list_for, principal=principal_of(ctx)))


async def _on_call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
    return await in_thread(
        call, principal=principal_of(ctx), name=params.name, arguments=params.arguments or {}
    )


def build() -> Server:
    return Server(
        "agent-portal",
        version="1",
        title="Agent Portal",
        instructions=INSTRUCTIONS,
        on_list_tools=_on_list_tools,
        on_call_tool=_on_call_tool,
    )
