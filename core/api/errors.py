"""Every API error is `{"error": {"code", "message", "details"}}` with the right status."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from core.errors import PortalError


def error_body(code: str, message: str, details: Any = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details}}


def _first_message(detail: Any) -> str:
    if isinstance(detail, dict):
        for field, value in detail.items():
            inner = _first_message(value)
            return inner if field == "non_field_errors" else f"{field}: {inner}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    headers: dict[str, str] = {}
    if isinstance(exc, PortalError):
        retry_after = exc.details.get("retry_after") if isinstance(exc.details, dict) else None
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        return Response(
            error_body(exc.code, exc.message, exc.details), status=exc.status, headers=headers
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # a real bug: let Django log it and answer 500
    if isinstance(exc, exceptions.ValidationError):
        body = error_body("validation_error", _first_message(exc.detail), exc.detail)
    elif isinstance(exc, exceptions.Throttled):
        body = error_body(
            "rate_limited",
            "Too many requests; retry after the given number of seconds.",
            {"retry_after": getattr(exc, "wait", None)},
        )
        wait = getattr(exc, "wait", None)
        if wait is not None:
            headers["Retry-After"] = str(int(wait) + 1)
    else:
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
        body = error_body(str(code), str(exc.detail))
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    response = Response(body, status=exc.status_code, headers=headers)
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        view = context.get("view")
        request = context.get("request")
        if view is not None and request is not None:
            header = view.get_authenticate_header(request)
            if header:
                response.status_code = status.HTTP_401_UNAUTHORIZED
                response["WWW-Authenticate"] = header
    return response


def json_error_response(status_code: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status_code)
