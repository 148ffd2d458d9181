"""Page guards: signed in, in an organization, with the right role; domain errors → messages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect

from core.errors import NotFound, PortalError


def org_page(*, manager: bool = False, on_error: str | None = None) -> Callable:
    """Wrap a page view.

    No organization yet → onboarding. `manager=True` hides the page from
    members (404, as for anything they may not see). A PortalError becomes a
    message and a redirect to `on_error` (NotFound becomes a 404 page).
    """

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            # Set by portal's organization middleware (core cannot import its types).
            membership = getattr(request, "membership", None)
            if membership is None:
                return redirect("onboarding")
            if manager and not membership.can_manage:
                raise Http404("Only owners and admins see this page.")
            try:
                return view(request, *args, **kwargs)
            except NotFound as exc:
                raise Http404(exc.message) from None
            except PortalError as exc:
                if on_error is None:
                    raise
                messages.error(request, exc.message)
                return redirect(on_error)

        return wrapper

    return decorate
