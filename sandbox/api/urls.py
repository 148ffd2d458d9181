from django.urls import path

from sandbox.api import views

urlpatterns = [
    path(
        "sandbox/connections", views.SandboxConnectionView.as_view(), name="api_sandbox_connections"
    ),
    path("sandbox/scripts", views.ModelScriptListView.as_view(), name="api_sandbox_scripts"),
    path(
        "sandbox/scripts/<uuid:script_id>",
        views.ModelScriptDetailView.as_view(),
        name="api_sandbox_script",
    ),
    path("sandbox/reset", views.ResetView.as_view(), name="api_sandbox_reset"),
]
