"""Domain errors: raised by services, turned into JSON by the API and messages by pages."""

from __future__ import annotations

from typing import Any


class PortalError(Exception):
    """A request the portal refuses, with a stable code and a message a person can read."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details

    def with_details(self, **details: Any) -> PortalError:
        self.details = {**(self.details or {}), **details}
        return self


class NotFound(PortalError):
    status = 404
    code = "not_found"


class Forbidden(PortalError):
    status = 403
    code = "forbidden"


class Conflict(PortalError):
    status = 409
    code = "conflict"


class Invalid(PortalError):
    status = 422
    code = "invalid"
