"""Errors of calls to providers, safe to show to a person or a model.

Raised by the transport (connections/providers/http.py) and by provider code;
the API maps them to HTTP statuses, the agent runner to short text for the model.
"""

from __future__ import annotations

from core.errors import Conflict, PortalError


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


class ProviderUnavailable(ToolError):
    """5xx, network errors or an unexpected answer: retryable, the account is untouched."""

    status = 502
    code = "provider_unavailable"


class ProviderTimeout(ProviderUnavailable):
    status = 504
    code = "provider_timeout"


class EgressBlocked(ProviderUnavailable):
    """The destination is not allowed by the egress policy (connections/egress.py)."""

    code = "egress_refused"


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
