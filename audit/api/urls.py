from django.urls import path

from audit.api import views

urlpatterns = [
    path("audit-events", views.AuditEventListView.as_view(), name="api_audit_events"),
    path(
        "audit-events/<int:event_id>", views.AuditEventDetailView.as_view(), name="api_audit_event"
    ),
]
