"""The portal as one ASGI application: /mcp goes to the MCP server (behind its gate),
everything else to Django. Django's ASGI handler serves HTTP only and cannot own the MCP
session manager's lifespan, so this dispatcher sits on top and runs it."""

from __future__ import annotations

import re
from typing import Any

from mcp.server.transport_security import TransportSecuritySettings

from mcpserver import server
from mcpserver.gate import TOOLSET, McpGate

MCP_PATHS = ("/mcp", "/mcp/")
# /mcp/t/<toolset>: the same server, limited to one of the organization's toolsets.
TOOLSET_PATH = re.compile(r"^/mcp/t/(?P<name>[^/]{1,100})/?$")


def with_mcp(django_app: Any) -> Any:
    """Wrap Django's ASGI app. Each call builds its own MCP server (the SDK's session
    manager runs once per instance)."""
    mcp_server = server.build()
    mcp_app = mcp_server.streamable_http_app(
        streamable_http_path="/mcp",
        json_response=True,
        # Every request is served on its own: handshake-era sessions live in the database
        # (mcpserver/sessions.py, checked by the gate), so any process answers any of them.
        stateless_http=True,
        # Host and Origin are checked by the gate, against the portal's own settings.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    gate = McpGate(mcp_app)

    async def application(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()  # startup
            async with mcp_server.session_manager.run():
                await send({"type": "lifespan.startup.complete"})
                await receive()  # shutdown
            await send({"type": "lifespan.shutdown.complete"})
        elif scope["type"] == "http" and scope["path"] in MCP_PATHS:
            await gate(scope, receive, send)
        elif scope["type"] == "http" and (found := TOOLSET_PATH.match(scope["path"])):
            limited = {**scope, "path": "/mcp", "raw_path": b"/mcp", TOOLSET: found["name"]}
            await gate(limited, receive, send)
        elif scope["type"] == "http":
            await django_app(scope, receive, send)
        else:  # websockets: nothing here speaks them
            await send({"type": "websocket.close", "code": 1000})

    return application
