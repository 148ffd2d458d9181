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
from django.db import close_old_connections
from mcp.server.lowlevel.server import Server

from connections import tools
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


def list_for(principal: Principal) -> list[types.Tool]:
    return [mcp_tool(entry) for entry in tools.list_tools(caller=principal.caller)]


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
    """tools/call: the same path as the REST API (resolution, validation, scopes, audit —
    each once), via "mcp"; a write first passes the organization's approvals."""
    caller = principal.caller

    def approved_first(tool: Any, params: dict[str, Any]) -> None:
        waiting = approvals.gate(
            caller=caller, client_id=principal.client_id, tool_name=name, arguments=arguments
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
        )
    except PortalError as exc:
        if exc.code in NOT_OFFERED:
            return error_result("tool_not_available", f"{name} is not one of your tools.")
        details = exc.details if isinstance(exc.details, dict) else {}
        return error_result(exc.code, exc.message, **details)
    payload = {"data": result["data"], "execution_id": result["execution_id"]}
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=json.dumps(result["data"], default=str))],
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
