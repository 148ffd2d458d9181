"""The delivery log's filters, for the endpoint page and the API."""

from __future__ import annotations

from core.filtering import ListFilter, choice_filter, id_filter
from webhooks.events import EVENT_TYPES
from webhooks.models import WebhookDelivery


class DeliveryFilter(ListFilter):
    endpoint_id = id_filter("endpoint_id", what="endpoint_id")
    event_type = choice_filter(
        [(name, name) for name in EVENT_TYPES], field_name="event__type", what="event type"
    )
    status = choice_filter(WebhookDelivery.Status.choices, what="status")
