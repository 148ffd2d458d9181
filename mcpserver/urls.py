"""Pages of MCP access. The OAuth endpoints are in mcpserver/oauth_urls.py."""

from django.urls import path

from mcpserver import views

urlpatterns = [
    path("apps/", views.apps, name="mcp_apps"),
    path("apps/settings/", views.mcp_settings, name="mcp_settings"),
    path("apps/<str:connection_id>/revoke/", views.revoke_app, name="mcp_app_revoke"),
    path("apps/approvals/<str:approval_id>/", views.approval, name="mcp_approval"),
]
