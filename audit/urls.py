from django.urls import path

from audit import views

urlpatterns = [
    path("audit/", views.audit_list, name="audit"),
    path("audit/chain/", views.audit_chain_status, name="audit_chain"),
    path("audit/retention/", views.audit_retention, name="audit_retention"),
    path("audit/export.csv", views.audit_export, {"fmt": "csv"}, name="audit_export_csv"),
    path("audit/export.jsonl", views.audit_export, {"fmt": "jsonl"}, name="audit_export_jsonl"),
    path("audit/<int:event_id>/", views.audit_detail, name="audit_detail"),
]
