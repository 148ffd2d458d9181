"""The current organization, membership and `Caller` of a signed-in request."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from portal.callers import Caller
from portal.models import Membership
from portal.requests import attach

SESSION_ORG_KEY = "organization_id"


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
    """Set `request.membership`, `request.organization` and `request.caller` from the session."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        membership = current_membership(request)
        attach(request, Caller.of_member(membership) if membership else None)
        return self.get_response(request)
