"""Request id, Content-Security-Policy and current-organization middleware."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from portal.models import Membership

SESSION_ORG_KEY = "organization_id"
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Give every request an id (the caller's X-Request-ID when sane) for logs and audit."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if REQUEST_ID_PATTERN.match(incoming) else uuid.uuid4().hex
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
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


def current_membership(request: HttpRequest) -> Membership | None:
    """The signed-in user's membership in the organization chosen in the session.

    Falls back to the user's first organization when the session names none, or
    one they have since left.
    """
    user = request.user
    if not user.is_authenticated:
        return None
    memberships = Membership.objects.filter(user=user).select_related("organization")
    chosen = request.session.get(SESSION_ORG_KEY)
    membership = memberships.filter(organization_id=chosen).first() if chosen else None
    if membership is None:
        membership = memberships.order_by("organization__name").first()
        if membership is not None:
            request.session[SESSION_ORG_KEY] = membership.organization_id
    return membership


class OrganizationMiddleware:
    """Set `request.membership` and `request.organization` from the session."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.membership = current_membership(request)
        request.organization = request.membership.organization if request.membership else None
        return self.get_response(request)
