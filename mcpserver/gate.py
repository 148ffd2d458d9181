"""The door of /mcp (ASGI, in front of the SDK's Streamable HTTP app).

For every request: the Host must be one of ALLOWED_HOSTS and a browser's Origin one we
allow (DNS rebinding; allowed origins get CORS headers, mcpserver/cors.py); the bearer
credentials must be valid for this resource (401 with `WWW-Authenticate: Bearer
resource_metadata=…, scope=…` otherwise, so clients discover the authorization server,
RFC 9728); the body is read as the SDK reads it (malformed JSON-RPC: a JSON-RPC error);
a handshake-era request without a session must be `initialize`, within the principal's
session cap (mcpserver/sessions.py), and an unknown protocol version is told the ones we
speak; a `tools/call` of a write tool needs the `tools:write` scope (403
`insufficient_scope`: the client may ask the person for more). The authenticated
Principal goes to the SDK in the ASGI scope.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import pydantic_core
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from mcp_types import (
    INVALID_REQUEST,
    PARSE_ERROR,
    JSONRPCMessage,
    JSONRPCRequest,
    jsonrpc_message_adapter,
)
from mcp_types.version import (
    HANDSHAKE_PROTOCOL_VERSIONS,
    MODERN_PROTOCOL_VERSIONS,
    SUPPORTED_PROTOCOL_VERSIONS,
)
from pydantic import ValidationError

from connections import discovery, tools, toolsets
from core.dependencies import RETRY_AFTER_SECONDS, outage_of
from core.errors import NotFound
from mcpserver import access, cors, sessions
from mcpserver.server import PRINCIPAL, in_thread

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

MAX_BODY = 4 * 1024 * 1024
TOOLSET = "portal.toolset"  # the ASGI scope key: the toolset /mcp/t/<name> names


def resource_metadata_url() -> str:
    return f"{settings.PORTAL_BASE_URL}/.well-known/oauth-protected-resource/mcp"


async def respond(
    send: Send,
    status: int,
    code: str,
    message: str,
    headers: list[tuple[str, str]] | None = None,
) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *[(k.encode(), v.encode()) for k, v in headers or []],
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def challenge(error: str = "", description: str = "", scope: str = "") -> tuple[str, str]:
    parts = []
    if error:
        parts.append(f'error="{error}"')
    if description:
        parts.append(f'error_description="{description.replace(chr(34), chr(39))}"')
    parts.append(f'resource_metadata="{resource_metadata_url()}"')
    parts.append(f'scope="{scope or " ".join(sorted(access.ALL_SCOPES))}"')
    return ("WWW-Authenticate", "Bearer " + ", ".join(parts))


class McpGate:
    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracked(message: MutableMapping[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.serve(scope, receive, tracked)
        except Exception as exc:
            outage = outage_of(exc)
            if outage is None or started:
                raise
            # The database or Redis is away: a retryable 503, as on every other route.
            await respond(send, 503, *outage, [("Retry-After", str(RETRY_AFTER_SECONDS))])

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host, _ = split_domain_port(headers.get("host", ""))
        if not host or not validate_host(host, settings.ALLOWED_HOSTS):
            await respond(send, 400, "bad_host", "This host name is not served here.")
            return
        origin = headers.get("origin")
        if origin is not None and origin not in cors.allowed_origins():
            await respond(send, 403, "origin_not_allowed", "Requests from this origin are refused.")
            return
        allowed = cors.response_headers(origin)
        if scope["method"] == "OPTIONS":
            await _empty(send, 204, cors.preflight_headers(origin, "GET, POST, DELETE, OPTIONS"))
            return
        try:
            principal = await in_thread(
                access.authenticate,
                authorization=headers.get("authorization", ""),
                identifier=headers.get("x-portal-identifier"),
            )
        except access.Unauthenticated as exc:
            await respond(
                send,
                401,
                exc.error or "unauthenticated",
                exc.message,
                [challenge(exc.error, exc.message), *allowed],
            )
            return
        except access.Refused as exc:
            await respond(send, exc.status, exc.code, exc.message, allowed)
            return
        if TOOLSET in scope:
            try:
                toolset = await in_thread(
                    toolsets.get_toolset,
                    organization=principal.caller.organization,
                    name=scope[TOOLSET],
                )
            except NotFound as exc:
                await respond(send, 404, exc.code, exc.message, allowed)
                return
            principal = principal.limited_to(toolset)
        body = await self._body(receive)
        if body is None:
            await respond(send, 413, "too_large", "The request body is too large.", allowed)
            return
        message = None
        if scope["method"] == "POST":
            try:
                message = parse_message(body)
            except MalformedMessage as exc:
                await respond_jsonrpc_error(send, exc.code, exc.message, allowed)
                return
        if (
            message is not None
            and not principal.may("tools:write")
            and await in_thread(_calls_a_write, principal=principal, message=message)
        ):
            description = "Running this tool needs the tools:write scope."
            await respond(
                send,
                403,
                "insufficient_scope",
                description,
                [challenge("insufficient_scope", description, "tools:read tools:write"), *allowed],
            )
            return
        refusal = session_refusal(scope["method"], headers, message)
        if refusal is not None:
            status, code, text = refusal
            await respond_jsonrpc_error(send, code, text, allowed, status=status)
            return
        opening = await self._session(scope["method"], headers, message, principal, send, allowed)
        if opening is None:
            return  # answered here
        await self.app(
            {**scope, PRINCIPAL: principal},
            _replay(body, receive),
            _with_headers(send, allowed, principal if opening else None),
        )

    @staticmethod
    async def _session(
        method: str,
        headers: dict[str, str],
        message: Any,
        principal: access.Principal,
        send: Send,
        allowed: list[tuple[str, str]],
    ) -> bool | None:
        """The handshake era's sessions, from the database (mcpserver/sessions.py): True
        when this request opens one (an `initialize` with room), False when it goes on as
        it is, None when it was answered here (an unknown or lapsed session: 404; DELETE
        ends it; GET: no server stream, 405; no room: 429)."""
        version = headers.get("mcp-protocol-version")
        if version is not None and version not in HANDSHAKE_PROTOCOL_VERSIONS:
            return False  # the 2026 era: no sessions
        owner = {
            "organization": principal.caller.organization,
            "principal": principal_key(principal),
        }
        asked = headers.get("mcp-session-id")
        if asked:
            if method == "DELETE":
                ended = await in_thread(sessions.close, session_id=asked, **owner)
                await _empty(send, 200 if ended else 404, allowed)
                return None
            if not await in_thread(sessions.use, session_id=asked, **owner):
                await respond_jsonrpc_error(
                    send,
                    INVALID_REQUEST,
                    "Session not found: it ended or lapsed. Send `initialize` again.",
                    allowed,
                    status=404,
                )
                return None
        if method == "GET":  # no server-initiated stream: clients then only POST
            await _empty(send, 405, [*allowed, ("allow", "POST, DELETE")])
            return None
        if asked or method != "POST":
            return False
        if not await in_thread(sessions.has_room, **owner):
            await respond_jsonrpc_error(
                send,
                INVALID_REQUEST,
                f"This client already has {settings.MCP_SESSIONS_PER_PRINCIPAL} open sessions "
                "for this person: end one (DELETE with its Mcp-Session-Id) or let it lapse.",
                allowed,
                status=429,
            )
            return None
        return True

    @staticmethod
    async def _body(receive: Receive) -> bytes | None:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                return None
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        return b"".join(chunks)


def principal_key(principal: access.Principal) -> str:
    caller = principal.caller
    return f"{caller.organization.pk}:{caller.identifier}:{principal.client_id}"


def session_refusal(
    method: str, headers: dict[str, str], message: Any
) -> tuple[int, int, str] | None:
    """Why a request may not reach the server at all, as (status, JSON-RPC code, text)."""
    version = headers.get("mcp-protocol-version")
    if version is not None and version not in SUPPORTED_PROTOCOL_VERSIONS:
        return (
            400,
            INVALID_REQUEST,
            f"Unsupported MCP protocol version {version[:40]!r}: this server speaks "
            f"{', '.join(SUPPORTED_PROTOCOL_VERSIONS)}.",
        )
    handshake_era = version is None or version in HANDSHAKE_PROTOCOL_VERSIONS
    if not handshake_era or method != "POST" or headers.get("mcp-session-id"):
        return None
    if not (isinstance(message, JSONRPCRequest) and message.method == "initialize"):
        return (
            400,
            INVALID_REQUEST,
            "No session: send `initialize` first (protocol 2025-06-18 or 2025-11-25), or "
            f"speak {', '.join(MODERN_PROTOCOL_VERSIONS)}, which needs no session.",
        )
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body read for the checks, then the real channel (a disconnect, later)."""
    sent = False

    async def replay() -> MutableMapping[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _with_headers(send: Send, extra: list[tuple[str, str]], opener: Any) -> Send:
    """The SDK's answer, with the CORS headers of an allowed origin; an `initialize` that
    succeeded (`opener`: its principal) gets its new session's id."""
    encoded = [(k.encode(), v.encode()) for k, v in extra]

    async def wrapped(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            added = list(encoded)
            if opener is not None and message["status"] < 400:
                session_id = await in_thread(
                    sessions.open_session,
                    organization=opener.caller.organization,
                    principal=principal_key(opener),
                )
                added.append((b"mcp-session-id", session_id.encode()))
            if added:
                message = {**message, "headers": [*message.get("headers", []), *added]}
        await send(message)

    return wrapped


async def _empty(send: Send, status: int, headers: list[tuple[str, str]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(k.encode(), v.encode()) for k, v in headers],
        }
    )
    await send({"type": "http.response.body", "body": b""})


class MalformedMessage(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def parse_message(body: bytes) -> JSONRPCMessage:
    """The body as the SDK reads it (pydantic's JSON parser, whose nesting is bounded, and
    the SDK's own JSON-RPC message model): the gate never reads a message differently
    from the server behind it. Malformed input is a JSON-RPC error, never a 500."""
    try:
        raw = pydantic_core.from_json(body)
    except ValueError:
        raise MalformedMessage(PARSE_ERROR, "Parse error: the body is not JSON.") from None
    try:
        return jsonrpc_message_adapter.validate_python(raw, by_name=False)
    except ValidationError:
        raise MalformedMessage(
            INVALID_REQUEST, "Invalid request: send one JSON-RPC 2.0 message object."
        ) from None


async def respond_jsonrpc_error(
    send: Send, code: int, message: str, headers: list[tuple[str, str]], *, status: int = 400
) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *[(k.encode(), v.encode()) for k, v in headers],
            ],
        }
    )
    await send({"type": "http.response.body", "body": body.encode()})


def _calls_a_write(*, principal: access.Principal, message: JSONRPCMessage) -> bool:
    """Whether the message calls a tool that changes data."""
    if not isinstance(message, JSONRPCRequest) or message.method != "tools/call":
        return False
    params = message.params or {}
    name = params.get("name")
    if name == discovery.CALL:  # what call_tool runs is the tool it names
        inner = params.get("arguments")
        name = inner.get("name") if isinstance(inner, dict) else None
        if name == discovery.CALL:
            return True  # refused as such by the server; never let through unscoped
    if not isinstance(name, str):
        return False  # the SDK refuses it: not a call of anything
    return any(
        entry.name == name and entry.tool.write
        for entry in tools.list_tools(caller=principal.caller)
    )
