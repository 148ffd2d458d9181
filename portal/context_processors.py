from django.http import HttpRequest

from core.dependencies import workers_alive
from portal.organizations import memberships_of


def portal(request: HttpRequest) -> dict:
    """The header's organization switcher and the current role, for every page."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "current_org": getattr(request, "organization", None),
        "current_membership": getattr(request, "membership", None),
        "switchable_memberships": memberships_of(user),
        # Runs, webhooks and token upkeep wait on a worker: say so when none reports.
        "background_stopped": not workers_alive(),
    }
