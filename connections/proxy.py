"""The proxy: call a provider's API as the user, for everything the tools don't cover.

The request goes to the connection's API base URL with the user's own token
(refreshed once on a 401, single flight, like a tool call); only paths under the
base, only an allow-list of headers each way, bounded bodies. It is audited like a
tool call — written ahead, completed after — with the method, path, status and
latency, never a body and never a query value.
"""

from __future__ import annotations

import json
import posixpath
import re
import time
import uuid
from functools import cache
from typing import Any
from urllib.parse import unquote

from django.db import transaction
from django.http import HttpRequest

from audit import trail
from audit.models import AuditEvent
from connections import budgets, control, lookup, policy, tools
from connections.configuration import get_connection
from connections.errors import ToolInvalid
from connections.tooling import Tool
from core import outbound
from core.errors import PortalError
from portal.callers import Caller

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
MAX_REQUEST_BYTES = 1_000_000
MAX_RESPONSE_BYTES = 5_000_000
# Headers a caller may send on; the provider's own version headers may be overridden too.
FORWARDED_REQUEST = frozenset(
    {"accept", "content-type", "if-match", "if-none-match", "if-modified-since", "prefer"}
)
# Headers handed back; plus the provider's rate-limit headers from its catalog entry.
FORWARDED_RESPONSE = frozenset(
    {"content-type", "etag", "last-modified", "link", "retry-after", "x-request-id"}
)
SAFE_PATH = re.compile(r"^[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$")


def clean_path(path: Any) -> str:
    """A path under the API base: relative, no scheme or host, no way out with "..".

    Decoded once more and normalized, so %2e%2e and doubled slashes cannot climb out.
    """
    if not isinstance(path, str) or len(path) > 2000:
        raise ToolInvalid("path must be a string of at most 2,000 characters.")
    if "?" in path or "#" in path or not SAFE_PATH.match(path) or path.startswith("//"):
        raise ToolInvalid(
            "path must be a plain path under the API base (put the query in `query`).",
            code="invalid_path",
        )
    decoded = unquote(path)
    if "\\" in decoded or "\x00" in decoded or any(ord(c) < 32 for c in decoded):
        raise ToolInvalid("path contains characters that are not allowed.", code="invalid_path")
    relative = decoded.lstrip("/")
    if (relative and posixpath.normpath("/" + relative) != "/" + relative.rstrip("/")) or any(
        part in ("..", ".") for part in relative.split("/")
    ):
        raise ToolInvalid("path must not contain '.' or '..' segments.", code="invalid_path")
    return "/" + path.lstrip("/") if path else ""


def _request_headers(headers: Any, provider: Any) -> dict[str, str]:
    if headers in (None, {}):
        return {}
    if not isinstance(headers, dict):
        raise ToolInvalid("headers must be an object of strings.")
    allowed = FORWARDED_REQUEST | {name.lower() for name in provider.api.headers}
    out = {}
    for name, value in headers.items():
        if not isinstance(value, str) or len(value) > 1000 or "\n" in value or "\r" in value:
            raise ToolInvalid(f"Header {name!r} must be a short single-line string.")
        if str(name).lower() not in allowed:
            raise ToolInvalid(
                f"Header {name!r} is not forwarded; allowed: {', '.join(sorted(allowed))}.",
                code="header_not_allowed",
            )
        out[str(name)] = value
    return out


def _query(query: Any) -> dict[str, Any] | None:
    if query in (None, {}):
        return None
    if not isinstance(query, dict) or not all(
        isinstance(v, (str, int, float, bool))
        or (isinstance(v, list) and all(isinstance(i, (str, int)) for i in v))
        for v in query.values()
    ):
        raise ToolInvalid("query must be an object of strings, numbers or lists of them.")
    return {str(k): v for k, v in query.items()}


def _body(body: Any, headers: dict[str, str]) -> bytes | None:
    if body is None:
        return None
    if isinstance(body, str):
        content = body.encode()
    else:
        content = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    if len(content) > MAX_REQUEST_BYTES:
        raise ToolInvalid(f"body is larger than {MAX_REQUEST_BYTES} bytes.")
    return content


def proxy_request(
    *,
    caller: Caller,
    connection_name: str,
    method: str,
    path: str,
    query: Any = None,
    headers: Any = None,
    body: Any = None,
    account_id: Any = None,
    request: HttpRequest | None = None,
) -> dict[str, Any]:
    """Send one request as the caller's account → {status, headers, body, execution_id}."""
    method = str(method or "").upper()
    if method not in METHODS:
        raise ToolInvalid(f"method must be one of {', '.join(METHODS)}.")
    path = clean_path(path)
    connection = get_connection(caller.organization, connection_name, enabled_only=True)
    provider = connection.provider_spec
    forward = _request_headers(headers, provider)
    params = _query(query)
    content = _body(body, forward)
    account = lookup.resolve_account(
        caller=caller, provider=provider.key, connection_name=connection.name, account_id=account_id
    )
    execution_id = uuid.uuid4().hex
    base = {
        "connection": connection.name,
        "method": method,
        "path": path[:300],
        "query_keys": sorted(params or {})[:20],
        "execution_id": execution_id,
        "account": str(account.pk),
        "via": "proxy",
    }
    spender = budgets.Spender(organization=caller.organization, identifier=caller.identifier)
    _check_controls(caller, provider.key, method, path, params, body, base, spender, request)
    intent = trail.begin(
        action="proxy.executed",
        started_action="proxy.started",
        organization=caller.organization,
        actor=trail.Actor.of(caller),
        request=request,
        identifier=caller.identifier,
        target_type="connection",
        target_id=connection.name,
        metadata=base,
    )
    started = time.perf_counter()
    response, error = None, None
    try:
        response = tools.AccountCall(account).run(
            lambda ctx: ctx.raw(method, path, params=params, headers=forward, content=content),
            request=request,
        )
    except PortalError as exc:
        error = exc
    with transaction.atomic():  # the request's event and its usage row: one commit
        trail.complete(
            intent,
            outcome=AuditEvent.Outcome.SUCCESS
            if response is not None and response.status_code < 400
            else AuditEvent.Outcome.FAILURE,
            request=request,
            metadata={
                **base,
                "status": response.status_code if response is not None else None,
                "error": error.code if error else None,
                "latency_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        control.count_call(
            spender,
            provider=provider.key,
            called=True,
            error=error,
            execution_id=execution_id,
            seconds=time.perf_counter() - started,
        )
    if error is not None or response is None:
        assert error is not None
        error.details = {**(error.details or {}), "execution_id": execution_id}
        raise error
    return {
        "status": response.status_code,
        "headers": _response_headers(response, provider),
        "body": _decoded(response),
        "execution_id": execution_id,
    }


@cache
def proxy_tool(provider: str, write: bool) -> Tool:
    """The proxy as policy rules and the hook see it: the tool `proxy` of the provider,
    a write unless the method is GET; its arguments are method, path, query and body.
    Its schema only describes them: the proxy checks its own input, never against it."""
    return Tool(
        name=policy.PROXY,
        description="A raw request to the provider's API through the proxy.",
        input_schema={
            "type": "object",
            "properties": {
                "method": {"type": "string"},
                "path": {"type": "string"},
                "query": {"type": "string"},
                "body": {"type": "string"},
            },
            "required": ["method", "path", "query", "body"],
            "additionalProperties": False,
        },
        required_scopes=(),
        write=write,
        handler=lambda ctx, params: None,
        provider=provider,
    )


def _check_controls(
    caller: Caller,
    provider: str,
    method: str,
    path: str,
    query: dict[str, Any] | None,
    body: Any,
    base: dict[str, Any],
    spender: budgets.Spender,
    request: HttpRequest | None,
) -> None:
    """Policy rules, the hook and budgets, before anything is sent; a refusal is audited
    (with the rule that decided) and counted. Nobody is there to approve: 409."""
    tool = proxy_tool(provider, method != "GET")
    arguments = {"method": method, "path": path, "query": query or {}, "body": body}
    try:
        verdict = control.check_call(
            tool, arguments, policy.Context(caller=caller, via="proxy"), audit=base
        )
        if verdict.wants_approval:
            raise control.approval_refused(tool, verdict)
    except PortalError as error:
        if isinstance(error.details, dict) and error.details.get("rule_id"):
            base["policy_rule"] = error.details["rule_id"]
        with transaction.atomic():  # its event and its usage row: one commit
            trail.record(
                action="proxy.executed",
                organization=caller.organization,
                actor=trail.Actor.of(caller),
                request=request,
                identifier=caller.identifier,
                target_type="connection",
                target_id=base["connection"],
                outcome=AuditEvent.Outcome.DENIED,
                metadata={**base, "status": error.status, "error": error.code},
            )
            control.count_call(
                spender,
                provider=provider,
                called=False,
                error=error,
                execution_id=base["execution_id"],
            )
        error.details = {**(error.details or {}), "execution_id": base["execution_id"]}
        raise


def _response_headers(response: outbound.Response, provider: Any) -> dict[str, str]:
    spec = provider.api.rate_limit
    allowed = FORWARDED_RESPONSE | {
        h.lower() for h in (*spec.retry_after, *spec.reset, spec.remaining) if h
    }
    return {name: value for name, value in response.headers.items() if name.lower() in allowed}


def _decoded(response: outbound.Response) -> Any:
    if len(response.content) > MAX_RESPONSE_BYTES:
        raise ToolInvalid("The provider's answer is too large for the proxy.")
    if not response.content:
        return None
    try:
        return json.loads(response.content)
    except ValueError:
        return response.text
