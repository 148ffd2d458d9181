"""Request id, Content-Security-Policy, and the input guard every request passes."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from core import logcontext, metrics
from core.api.errors import json_error_response
from core.text import has_unstorable

REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def is_api_path(path: str) -> bool:
    return path.startswith(("/api/", "/mcp", "/oauth2/", "/.well-known/"))


class RequestIdMiddleware:
    """Give every request an id (the caller's X-Request-ID when sane) for logs and audit;
    count it in the metrics by its route's pattern, and log one line for it (issue 28):
    request id, route, status, time, organization, the executions and runs it touched."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if REQUEST_ID_PATTERN.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]  # read as PortalRequest
        started = time.perf_counter()
        token = logcontext.begin()
        try:
            response = self.get_response(request)
        finally:
            noted = logcontext.end(token)
        response["X-Request-ID"] = request_id
        seconds = time.perf_counter() - started
        match = getattr(request, "resolver_match", None)
        route = f"/{match.route}" if match is not None and match.route else "unmatched"
        if route == "/metrics":
            return response  # scrapes are not traffic
        metrics.http_request(
            method=request.method or "", route=route, status=response.status_code, seconds=seconds
        )
        organization = getattr(request, "organization", None)
        logcontext.REQUESTS.info(
            "%s %s %s",
            request.method,
            route,
            response.status_code,
            extra={
                "request_id": request_id,
                "method": request.method,
                "route": route,
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 1),
                "organization": getattr(organization, "slug", None),
                **noted,
            },
        )
        return response


class ContentSecurityPolicyMiddleware:
    """Send the CONTENT_SECURITY_POLICY setting on every response that has none.

    Pages render text written by models and by other users (escaped); the policy
    is the second line: no inline or foreign script can run even if escaping slipped.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = settings.CONTENT_SECURITY_POLICY

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy
        return response


class InputGuardMiddleware:
    """Refuse, before any view runs, input no view could store or should read:

    * NUL characters in the path, the query or a form (PostgreSQL text cannot
      hold them; DESIGN §12 rule 20), whatever the field;
    * bodies over DATA_UPLOAD_MAX_MEMORY_SIZE (413), and forms with too many fields.

    JSON bodies get the same checks in core.api.parsers. API paths answer with the
    JSON error envelope, pages with a readable page.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit:
            return self._refuse(
                request, 413, "too_large", f"The request body is larger than {limit} bytes."
            )
        try:
            values = [request.path, *self._values(request.GET)]
            if request.method == "POST" and request.content_type in (
                "application/x-www-form-urlencoded",
                "multipart/form-data",
            ):
                values += self._values(request.POST)
        except RequestDataTooBig:
            return self._refuse(
                request, 413, "too_large", f"The request body is larger than {limit} bytes."
            )
        except TooManyFieldsSent:
            return self._refuse(request, 400, "too_many_fields", "The form has too many fields.")
        if any(has_unstorable(value) for value in values):
            return self._refuse(
                request,
                400,
                "invalid_characters",
                "The request contains characters that cannot be accepted (NUL).",
            )
        return self.get_response(request)

    @staticmethod
    def _values(query: Any) -> list[str]:
        return [text for key, items in query.lists() for text in (key, *items)]

    @staticmethod
    def _refuse(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse:
        if is_api_path(request.path):
            return json_error_response(status, code, message)
        return render(request, "error.html", {"status": status, "message": message}, status=status)
