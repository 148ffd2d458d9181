"""Requests as the apps below portal (audit) see them: who calls, as a `CallerLike`
(portal/requests.py types the same attributes with portal's own classes, for the apps
above it)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from core.tenancy import CallerLike


class CallerRequest(HttpRequest):
    """A page request of a signed-in member in an organization (portal's middleware)."""

    caller: CallerLike
    organization: Any
    membership: Any


def caller_of(request: Any) -> CallerLike:
    """The caller the portal attached to a page or API request (API permissions require
    one, as `org_page` does for pages)."""
    caller: CallerLike = request.caller
    return caller
