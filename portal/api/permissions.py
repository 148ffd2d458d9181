from rest_framework.permissions import BasePermission


class IsOrganizationCaller(BasePermission):
    """An API key, or a signed-in member of the current organization."""

    message = "Authenticate with an API key or sign in and choose an organization."

    def has_permission(self, request, view) -> bool:
        return bool(
            request.user
            and request.user.is_authenticated
            and getattr(request._request, "organization", None) is not None
        )


class IsOrganizationManager(IsOrganizationCaller):
    """API keys (minted by owners/admins) and owners/admins signed in."""

    message = "Only owners and admins (or an API key) may do this."

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        if getattr(request._request, "api_key", None) is not None:
            return True
        membership = getattr(request._request, "membership", None)
        return membership is not None and membership.can_manage


def is_api_key_request(request) -> bool:
    return getattr(getattr(request, "_request", request), "api_key", None) is not None


class IsApiKeyCaller(IsOrganizationCaller):
    """Endpoints for a customer's trusted backend only."""

    message = "This endpoint is for your backend: authenticate with an API key."

    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) and is_api_key_request(request)
