"""Reads: an organization's webhook endpoints and its delivery log (owners and admins,
and API keys; their filters: filters.py)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from core.errors import NotFound
from core.tenancy import as_uuid
from portal.callers import Caller
from webhooks.models import WebhookDelivery, WebhookEndpoint


def endpoints_of(*, caller: Caller) -> QuerySet[WebhookEndpoint]:
    caller.require_manager()
    return WebhookEndpoint.objects.for_org(caller.organization)


def get_endpoint(*, caller: Caller, endpoint_id: Any) -> WebhookEndpoint:
    key = as_uuid(endpoint_id)
    endpoint = endpoints_of(caller=caller).filter(pk=key).first() if key else None
    if endpoint is None:
        raise NotFound("No such webhook endpoint.")
    return endpoint


def deliveries_of(*, caller: Caller) -> QuerySet[WebhookDelivery]:
    caller.require_manager()
    return WebhookDelivery.objects.for_org(caller.organization).select_related("event", "endpoint")
