"""The attributes the portal puts on a request, typed: the request id (core middleware),
htmx's details, and who calls (portal.callers.attach: the organization middleware for
pages, the API's authentication for the API)."""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails
from rest_framework.request import Request

from portal.callers import Caller
from portal.models import Membership, Organization, User


class PortalRequest(HttpRequest):
    request_id: str
    htmx: HtmxDetails
    caller: Caller | None
    organization: Organization | None
    membership: Membership | None


class SignedInRequest(PortalRequest):
    """What a `login_required` view gets."""

    user: User


class OrgRequest(SignedInRequest):
    """What an `org_page` view gets: a signed-in member, in one of their organizations."""

    caller: Caller
    organization: Organization
    membership: Membership


class ApiRequest(Request):
    """An authenticated API request (an API key, or a member signed in)."""

    caller: Caller


def attach(request: HttpRequest, caller: Caller | None) -> None:
    """The one way a request learns who calls: `request.caller`, and the organization and
    membership pages read, taken from it — never set apart from it."""
    typed: PortalRequest = request  # type: ignore[assignment]
    typed.caller = caller
    typed.organization = caller.organization if caller is not None else None
    typed.membership = caller.membership if caller is not None else None


def api_caller(request: Request) -> Caller:
    """The caller DRF's authentication attached (the API's permissions require one)."""
    caller: Caller = request.caller  # type: ignore[attr-defined]
    return caller
