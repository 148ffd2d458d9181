"""Audit log pages: the filtered list, one event, the chain status, exports, retention."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from audit import chain, review, selectors, trail
from audit.filters import AuditEventFilter
from audit.models import AuditEvent
from core.decorators import org_page
from core.errors import NotFound, PortalError
from core.requests import CallerRequest


def _connection_names(org: Any) -> list[str]:
    # By string reference: audit sits below connections in the dependency order.
    from django.apps import apps

    return list(
        apps.get_model("connections", "Connection")
        .objects.for_org(org)
        .values_list("name", flat=True)
    )


@org_page()
def audit_list(request: CallerRequest) -> HttpResponse:
    caller = request.caller
    filters = AuditEventFilter(request.GET, queryset=selectors.visible_events(caller=caller))
    error, page = "", None
    try:
        page = review.page(filters.narrowed, request.GET.get("before"))
        review.label_outcomes(page.events)
        review.label_people(page.events)
    except PortalError as exc:
        error = exc.message
    context = {
        "filters": filters.values,
        "query": filters.query,
        "page": page,
        "error": error,
        "outcomes": AuditEvent.Outcome.choices,
        "connection_names": _connection_names(caller.organization),
        "sees_all": caller.can_read_audit,
    }
    return render(request, "audit/audit_list.html", context, status=400 if error else 200)


@org_page()
def audit_detail(request: CallerRequest, event_id: int) -> HttpResponse:
    event = selectors.event_for(caller=request.caller, event_id=event_id)
    if event is None:
        raise NotFound("No such event.")
    review.label_outcomes([event])
    context = {"event": event, "metadata": json.dumps(event.metadata, indent=2, sort_keys=True)}
    return render(request, "audit/audit_detail.html", context)


@org_page()
def audit_chain_status(request: CallerRequest) -> HttpResponse:
    """Loaded after the page (htmx): verifying a long chain takes a moment."""
    if not request.caller.can_read_audit:
        raise NotFound("Only owners, admins and auditors verify the chain.")
    report = chain.verify_organization(request.organization)
    return render(request, "audit/_audit_chain.html", {"report": report})


@org_page()
def audit_export(request: CallerRequest, fmt: str) -> HttpResponseBase:
    caller = request.caller
    filters = AuditEventFilter(request.GET, queryset=selectors.visible_events(caller=caller))
    try:
        events = filters.narrowed
    except PortalError as exc:
        return render(
            request,
            "audit/audit_list.html",
            {"filters": filters.values, "error": exc.message, "page": None},
            status=400,
        )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    if fmt == "csv":
        response = StreamingHttpResponse(review.export_csv(events), content_type="text/csv")
    else:
        response = StreamingHttpResponse(
            review.export_jsonl(events), content_type="application/x-ndjson"
        )
    response["Content-Disposition"] = (
        f'attachment; filename="audit-{caller.organization.slug}-{stamp}.{fmt}"'
    )
    trail.record(
        action="audit.exported",
        organization=caller.organization,
        caller=caller,
        request=request,
        target_type="audit_log",
        target_id=fmt,
        metadata={"filters": filters.values},
    )
    return response


@org_page(on_error="audit")
@require_POST
def audit_retention(request: CallerRequest) -> HttpResponse:
    review.set_retention(caller=request.caller, days=request.POST.get("days"), request=request)
    messages.success(
        request, f"Events are now kept for {request.organization.audit_retention_days} days."
    )
    return redirect("audit")
