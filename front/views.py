"""The dashboard: the only app that reads every other app's data for one page."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render

from audit import selectors as audit_selectors
from core.decorators import org_page
from front import dashboard, operations
from portal.requests import OrgRequest, PortalRequest
from portal.selectors import api_keys_of, members_of, pending_invitations


@org_page()
def home(request: OrgRequest) -> HttpResponse:
    org, membership = request.organization, request.membership
    context: dict[str, Any] = {"membership": membership}
    if membership.can_read_audit:
        context["recent_events"] = audit_selectors.org_events(organization=org).order_by("-id")[:10]
    if membership.can_manage:
        context["member_count"] = members_of(organization=org).count()
        context["pending_invitation_count"] = pending_invitations(organization=org).count()
        context["active_key_count"] = api_keys_of(organization=org).usable().count()
        context.update(dashboard.manager_summary(org))
        steps = dashboard.setup_steps(org, request.user)
        context["setup_steps"] = None if all(step.done for step in steps) else steps
    else:
        context.update(dashboard.member_summary(request.caller))
    tour = dashboard.sandbox_tour(
        org,
        request.user,
        mcp_url=request.build_absolute_uri("/mcp"),
        reads_audit=membership.can_read_audit,
    )
    context["sandbox_tour"] = None if tour is None or all(s.done for s in tour) else tour
    return render(request, "front/home.html", context)


@login_required
def operations_page(request: PortalRequest) -> HttpResponse:
    """The installation's background work, for its operators (staff users) only."""
    if not request.user.is_staff:
        raise Http404("Only the installation's operators see this page.")
    context = operations.snapshot()
    if request.htmx:
        return render(request, "front/_operations.html", context)
    return render(request, "front/operations.html", context)
