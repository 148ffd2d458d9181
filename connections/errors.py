"""Errors of calls to providers, safe to show to a person or a model.

Raised by provider calls (connections/providers/http.py) and by provider code; the API
maps them to HTTP statuses, the agent runner to short text for the model. Failures of
the transport itself are the outbound errors of core/outbound.py, named here for what
they mean to a provider call.
"""

from __future__ import annotations

from core.errors import Conflict, PortalError
from core.outbound import EgressBlocked as EgressBlocked
from core.outbound import OutboundError, OutboundTimeout

# 5xx, network errors or an unexpected answer: retryable, the account is untouched.
ProviderUnavailable = OutboundError
ProviderTimeout = OutboundTimeout


class ToolError(PortalError):
    """A call the provider (or the portal) refused."""


class ToolForbidden(ToolError):
    status = 403
    code = "tool_forbidden"


class ToolNotFound(ToolError):
    status = 404
    code = "not_found"


class ToolConflict(ToolError):
    status = 409
    code = "provider_conflict"


class ToolInvalid(ToolError):
    status = 422
    code = "invalid_params"


class ToolRateLimited(ToolError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message, details={"retry_after": retry_after})
        self.retry_after = retry_after


class ToolCrashed(ProviderUnavailable):
    """The tool's own code failed on an answer it did not expect (logged, never shown)."""

    code = "tool_error"


class TokenRejected(Exception):
    """The provider answered 401 to this access token (internal: triggers refresh + retry)."""


class NeedsReauthorization(Conflict):
    """The account cannot be used until its owner authorizes it again."""

    code = "needs_reauthorization"


class ProviderRejected(PortalError):
    """The provider refused the grant or the client (invalid_grant, 401, …)."""

    status = 400
    code = "provider_rejected"


class AuthorizationFailed(PortalError):
    """A callback that cannot complete. The message is shown to the person in the browser."""

    status = 400
    code = "authorization_failed"
