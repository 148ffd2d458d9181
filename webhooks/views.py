"""Webhook pages (owners and admins): endpoints, their delivery log, replays, tests."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.decorators import org_page
from core.errors import Invalid, PortalError
from core.forms import show_error
from portal.requests import OrgRequest
from webhooks import endpoints, events, selectors
from webhooks.filters import DeliveryFilter
from webhooks.forms import EndpointForm
from webhooks.models import WebhookDelivery


def _secret_page(request, template: str, context: dict) -> HttpResponse:
    response = render(request, template, context)
    if context.get("new_secret"):
        response["Cache-Control"] = "no-store"
    return response


@org_page(manager=True, on_error="webhooks")
def webhook_list(request: OrgRequest) -> HttpResponse:
    form = EndpointForm(request.POST or None)
    new_secret = created = None
    if request.method == "POST" and form.is_valid():
        try:
            created, new_secret = endpoints.create_endpoint(
                caller=request.caller, request=request, **form.cleaned_data
            )
        except PortalError as exc:
            show_error(form, exc)
        else:
            messages.success(
                request, "Endpoint added. Copy its signing secret now: it is shown once."
            )
            form = EndpointForm()
    return _secret_page(
        request,
        "webhooks/endpoint_list.html",
        {
            "form": form,
            "endpoints": selectors.endpoints_of(caller=request.caller),
            "new_secret": new_secret,
            "created": created,
            "event_types": events.EVENT_TYPES,
        },
    )


@org_page(manager=True, on_error="webhooks")
def webhook_detail(request: OrgRequest, endpoint_id: str) -> HttpResponse:
    caller = request.caller
    endpoint = selectors.get_endpoint(caller=caller, endpoint_id=endpoint_id)
    new_secret = None
    action = request.POST.get("action", "")
    form = EndpointForm(
        request.POST if action == "update" else None,
        initial={
            "url": endpoint.url,
            "description": endpoint.description,
            "event_types": endpoint.event_types,
            "enabled": endpoint.enabled,
        },
    )
    if request.method == "POST":
        if action == "update" and form.is_valid():
            endpoints.update_endpoint(
                caller=caller, endpoint_id=endpoint.pk, request=request, **form.cleaned_data
            )
            messages.success(request, "Endpoint saved.")
            return redirect("webhook_detail", endpoint_id=endpoint.pk)
        if action == "rotate":
            endpoint, new_secret = endpoints.rotate_secret(
                caller=caller, endpoint_id=endpoint.pk, request=request
            )
            messages.success(request, "New secret. The old one also signs for 24 hours.")
        elif action == "test":
            endpoints.send_test_event(caller=caller, endpoint_id=endpoint.pk, request=request)
            messages.success(request, "Test event sent: see it in the log below.")
            return redirect("webhook_detail", endpoint_id=endpoint.pk)
        elif action == "delete":
            endpoints.delete_endpoint(caller=caller, endpoint_id=endpoint.pk, request=request)
            messages.success(request, "Endpoint deleted.")
            return redirect("webhooks")
        elif action == "replay":
            endpoints.replay_delivery(
                caller=caller, delivery_id=request.POST.get("delivery_id"), request=request
            )
            messages.success(request, "Sent again.")
            return redirect("webhook_detail", endpoint_id=endpoint.pk)
        elif action == "replay_failed":
            since = (
                parse_datetime(request.POST.get("since", "")) if request.POST.get("since") else None
            )
            if since is None:
                raise Invalid("Give a date and time to replay failed deliveries since.")
            if timezone.is_naive(since):
                since = timezone.make_aware(since)
            count = endpoints.replay_failed(
                caller=caller, endpoint_id=endpoint.pk, since=since, request=request
            )
            messages.success(request, f"{count} failed deliveries sent again.")
            return redirect("webhook_detail", endpoint_id=endpoint.pk)
    log = selectors.deliveries_of(caller=caller).filter(endpoint=endpoint)
    filters = DeliveryFilter(request.GET, queryset=log.prefetch_related("tries"), strict=False)
    return _secret_page(
        request,
        "webhooks/endpoint_detail.html",
        {
            "endpoint": endpoint,
            "form": form,
            "new_secret": new_secret,
            "log": filters.narrowed[:100],
            "event_types": events.EVENT_TYPES,
            "statuses": WebhookDelivery.Status.choices,
            "chosen_type": filters.values.get("event_type", ""),
            "chosen_status": filters.values.get("status", ""),
            "since_default": (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        },
    )
