"""What a provider's tool is, what a handler gets, and the errors a handler may raise.

Provider modules declare `Tool`s; `connections.tools` lists and executes them.
Handlers never see the vault: they get a `ToolContext` with a ready access
token and an httpx client, and raise the errors below, which the API maps to
HTTP statuses and the agent runner turns into short text for the model.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from portal.errors import PortalError

TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


@dataclass(frozen=True)
class Tool:
    name: str
    description: str  # written for an LLM: what it does, when to use it, what it returns
    input_schema: dict[str, Any]  # JSON Schema draft 2020-12, additionalProperties false
    required_scopes: tuple[str, ...]
    write: bool
    handler: Callable[[ToolContext, dict[str, Any]], Any]
    provider: str = ""

    def __post_init__(self) -> None:
        if not TOOL_NAME.match(self.name):
            raise ValueError(f"Tool name {self.name!r} must match {TOOL_NAME.pattern}.")


@dataclass
class ToolContext:
    access_token: str
    api_base_url: str
    http: httpx.Client
    headers: dict[str, str] = field(default_factory=dict)
    # Filled by the handler for the audit trail: the provider's HTTP status.
    http_status: int | None = None


class ToolError(PortalError):
    """A tool call the provider (or the portal) refused; safe to show to a user or a model."""


class ToolForbidden(ToolError):
    status = 403
    code = "tool_forbidden"


class ToolNotFound(ToolError):
    status = 404
    code = "not_found"


class ToolInvalid(ToolError):
    status = 422
    code = "invalid_params"


class ToolRateLimited(ToolError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message, details={"retry_after": retry_after})
        self.retry_after = retry_after


class ProviderUnavailable(ToolError):
    """5xx, network errors or an unexpected answer: retryable, the account is untouched."""

    status = 502
    code = "provider_unavailable"


class ProviderTimeout(ProviderUnavailable):
    status = 504
    code = "provider_timeout"


class TokenRejected(Exception):
    """The provider answered 401 to this access token (internal: triggers refresh + retry)."""
