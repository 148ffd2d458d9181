"""What a provider's tool is, and what its handler gets.

Provider packages declare `Tool`s; `connections.tools` lists and executes them.
Handlers never see the vault: they get a `ToolContext` with the user's token
already in hand and call the provider through it (`ctx.get`, `ctx.post`, …),
which sends through the one transport and maps every failure
(connections/providers/http.py). The errors they may raise are in
connections/errors.py (re-exported here).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from connections.errors import (
    EgressBlocked,
    ProviderTimeout,
    ProviderUnavailable,
    TokenRejected,
    ToolConflict,
    ToolError,
    ToolForbidden,
    ToolInvalid,
    ToolNotFound,
    ToolRateLimited,
)
from connections.providers import http
from connections.providers.catalog import Provider
from connections.providers.schema import check_portable, portable
from core import outbound

__all__ = [
    "EgressBlocked",
    "ProviderTimeout",
    "ProviderUnavailable",
    "TokenRejected",
    "Tool",
    "ToolConflict",
    "ToolContext",
    "ToolError",
    "ToolForbidden",
    "ToolInvalid",
    "ToolNotFound",
    "ToolRateLimited",
]


@dataclass(frozen=True)
class Tool:
    name: str
    description: str  # written for an LLM: what it does, when to use it, what it returns
    # JSON Schema draft 2020-12 in the portable subset (connections/providers/schema.py):
    # the server validates every call with all of it.
    input_schema: dict[str, Any]
    required_scopes: tuple[str, ...]
    write: bool
    handler: Callable[[ToolContext, dict[str, Any]], Any]
    provider: str = ""
    # How people ask for it ("who is on the launch board"), for tool search only.
    examples: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_portable(self.name, self.input_schema)  # a broken tool stops the catalog

    @cached_property
    def model_schema(self) -> dict[str, Any]:
        """What models, MCP clients and the API see: the portable part of the schema."""
        return portable(self.input_schema)

    def for_provider(self, key: str) -> Tool:
        return replace(self, provider=key)


Handler = Callable[["ToolContext", dict[str, Any]], Any]


class Toolset:
    """A provider's tools, each declared on its handler:

        toolset = Toolset(scopes=("default",))

        @toolset.read("asana_get_task", "One task with its notes…", obj({...}, ["task_id"]))
        def get_task(ctx: ToolContext, params: dict) -> dict: ...

        TOOLS = toolset.tools

    `scopes` are what the tools need unless one says otherwise.
    """

    def __init__(self, *, scopes: tuple[str, ...] = ()) -> None:
        self.scopes = scopes
        self._tools: list[Tool] = []

    def read(
        self,
        name: str,
        description: str,
        schema: dict[str, Any],
        *,
        scopes: tuple[str, ...] | None = None,
        examples: tuple[str, ...] = (),
    ) -> Callable[[Handler], Handler]:
        """Declare a tool that changes nothing at the provider. `examples`: phrasings
        people use for it, which tool search also matches."""
        return self._declare(name, description, schema, scopes, examples, write=False)

    def write(
        self,
        name: str,
        description: str,
        schema: dict[str, Any],
        *,
        scopes: tuple[str, ...] | None = None,
        examples: tuple[str, ...] = (),
    ) -> Callable[[Handler], Handler]:
        """Declare a tool that creates, changes or deletes something (approvals ask first)."""
        return self._declare(name, description, schema, scopes, examples, write=True)

    def _declare(
        self,
        name: str,
        description: str,
        schema: dict[str, Any],
        scopes: tuple[str, ...] | None,
        examples: tuple[str, ...],
        *,
        write: bool,
    ) -> Callable[[Handler], Handler]:
        def declare(handler: Handler) -> Handler:
            self._tools.append(
                Tool(
                    name=name,
                    description=description,
                    input_schema=schema,
                    required_scopes=self.scopes if scopes is None else scopes,
                    write=write,
                    handler=handler,
                    examples=examples,
                )
            )
            return handler

        return declare

    @property
    def tools(self) -> tuple[Tool, ...]:
        return tuple(self._tools)


def json_object(params: dict[str, Any], key: str, *, max_keys: int = 100) -> dict[str, Any]:
    """The JSON object a tool takes as text (schema.json_object_text), parsed; a clear
    invalid-input error for anything else. {} when the parameter is absent."""
    raw = params.get(key)
    if not isinstance(raw, str) or raw == "":
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise ToolInvalid(f'{key} must be a JSON object, e.g. {{"Name": "Acme"}}.') from None
    if not isinstance(value, dict):
        raise ToolInvalid(f"{key} must be a JSON object, not {type(value).__name__}.")
    if len(value) > max_keys:
        raise ToolInvalid(f"{key} may name at most {max_keys} keys.")
    return value


@dataclass
class ToolContext:
    """One call's view of the provider: base URL, the user's token, kept values.

    The token never shows in a repr (DEBUG error pages print frames' locals).
    """

    provider: Provider
    api_base_url: str
    access_token: str = field(repr=False)
    values: Mapping[str, str] = field(default_factory=dict)
    # Filled for the audit trail: the provider's last HTTP status.
    http_status: int | None = None

    def url(self, path: str) -> str:
        """A path under the API base ("" is the base itself, e.g. a GraphQL endpoint)."""
        if path.startswith(("http://", "https://")):
            raise ValueError("Tools address the provider by path, under its API base.")
        return self.api_base_url.rstrip("/") + ("/" + path.lstrip("/") if path else "")

    def origin_url(self, path: str) -> str:
        """A path at the API's origin, outside its base (Atlassian's accessible-resources)."""
        scheme, _, rest = self.api_base_url.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        absolute_url: str | None = None,
    ) -> Any:
        """Send as the user; return the parsed JSON answer (mapped errors otherwise)."""
        response, body = http.call_api(
            self.provider,
            method,
            absolute_url or self.url(path),
            access_token=self.access_token,
            headers=headers,
            params=_clean(params),
            json_body=json,
            data=data,
        )
        self.http_status = response.status_code
        return body

    def raw(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> outbound.Response:
        """The provider's answer as it is (the proxy); only a 401 raises (TokenRejected)."""
        response = http.send_as_user(
            self.provider,
            method,
            self.url(path),
            access_token=self.access_token,
            headers=headers,
            params=params,
            content=content,
        )
        self.http_status = response.status_code
        return response

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Any:
        return self.request("PATCH", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)


def _clean(params: dict[str, Any] | None) -> dict[str, Any] | None:
    """Leave out unset query parameters; booleans as the lowercase words APIs expect."""
    if params is None:
        return None
    return {
        key: ("true" if value else "false") if isinstance(value, bool) else value
        for key, value in params.items()
        if value is not None and value != ""
    }
