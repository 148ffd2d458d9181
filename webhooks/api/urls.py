from django.urls import path

from webhooks.api import views

urlpatterns = [
    path("webhook-endpoints", views.EndpointListView.as_view(), name="api_webhook_endpoints"),
    path(
        "webhook-endpoints/<uuid:endpoint_id>",
        views.EndpointDetailView.as_view(),
        name="api_webhook_endpoint",
    ),
    path(
        "webhook-endpoints/<uuid:endpoint_id>/rotate-secret",
        views.RotateSecretView.as_view(),
        name="api_webhook_endpoint_rotate",
    ),
    path(
        "webhook-endpoints/<uuid:endpoint_id>/test",
        views.TestEventView.as_view(),
        name="api_webhook_endpoint_test",
    ),
    path(
        "webhook-endpoints/<uuid:endpoint_id>/replay-failed",
        views.ReplayFailedView.as_view(),
        name="api_webhook_endpoint_replay",
    ),
    path("webhook-deliveries", views.DeliveryListView.as_view(), name="api_webhook_deliveries"),
    path(
        "webhook-deliveries/<uuid:delivery_id>",
        views.DeliveryDetailView.as_view(),
        name="api_webhook_delivery",
    ),
    path(
        "webhook-deliveries/<uuid:delivery_id>/replay",
        views.ReplayDeliveryView.as_view(),
        name="api_webhook_delivery_replay",
    ),
    path("webhook-event-types", views.EventTypeListView.as_view(), name="api_webhook_event_types"),
]
