"""API permissions, read off the request's `Caller` (portal/callers.py).

A caller exists only once DRF authenticated the request (API key, or a session
with CSRF enforced); the `request.user` check makes sure it was DRF that did.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rest_framework.permissions import BasePermission

if TYPE_CHECKING:  # DRF's settings import these modules: no import back at run time
    from rest_framework.request import Request
    from rest_framework.views import APIView


def _caller(request: Request) -> Any:
    if request.user is None or not request.user.is_authenticated:
        return None
    return getattr(request, "caller", None)


class IsOrganizationCaller(BasePermission):
    """An API key, or a signed-in member of the current organization."""

    message = "Authenticate with an API key or sign in and choose an organization."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return _caller(request) is not None


class IsOrganizationManager(IsOrganizationCaller):
    """API keys (minted by owners/admins) and owners/admins signed in."""

    message = "Only owners and admins (or an API key) may do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        caller = _caller(request)
        return caller is not None and caller.can_manage


class IsApiKeyCaller(IsOrganizationCaller):
    """Endpoints for a customer's trusted backend only."""

    message = "This endpoint is for your backend: authenticate with an API key."

    def has_permission(self, request: Request, view: APIView) -> bool:
        caller = _caller(request)
        return caller is not None and caller.is_api_key
