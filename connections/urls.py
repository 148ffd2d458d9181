from django.urls import path

from connections import views

urlpatterns = [
    path("connections/", views.connection_list, name="connections"),
    path("connections/accounts/", views.connected_accounts_admin, name="connected_accounts_admin"),
    path(
        "connections/accounts/<uuid:account_id>/disconnect/",
        views.admin_disconnect,
        name="connected_account_admin_disconnect",
    ),
    path("connections/<slug:name>/", views.connection_detail, name="connection_detail"),
    path("connections/<slug:name>/delete/", views.connection_delete, name="connection_delete"),
    path("connected-accounts/", views.connected_accounts, name="connected_accounts"),
    path("connected-accounts/<slug:name>/connect/", views.connect, name="connect"),
    path("connected-accounts/<slug:name>/disconnect/", views.disconnect_own, name="disconnect_own"),
    path("tools/", views.tool_list, name="tools"),
    path("tools/<str:tool_name>/", views.tool_detail, name="tool_detail"),
    path("oauth/authorize/<uuid:auth_request_id>/", views.oauth_authorize, name="oauth_authorize"),
    path("oauth/callback/<slug:provider>/", views.oauth_callback, name="oauth_callback"),
    path("oauth/done/", views.oauth_done, name="oauth_done"),
    path("audit/", views.audit_list, name="audit"),
    path("audit/chain/", views.audit_chain_status, name="audit_chain"),
    path("audit/retention/", views.audit_retention, name="audit_retention"),
    path("audit/export.csv", views.audit_export, {"fmt": "csv"}, name="audit_export_csv"),
    path("audit/export.jsonl", views.audit_export, {"fmt": "jsonl"}, name="audit_export_jsonl"),
    path("audit/<int:event_id>/", views.audit_detail, name="audit_detail"),
]
