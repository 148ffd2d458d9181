from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core.api.errors import json_error_response
from core.dependencies import RETRY_AFTER_SECONDS, current_outage
from core.middleware import is_api_path
from portal import views

urlpatterns = [
    path("", include("front.urls")),
    path("healthz", views.health, name="health"),
    path("welcome/", views.onboarding, name="onboarding"),
    path("orgs/<slug:slug>/switch/", views.switch_organization, name="switch_organization"),
    path("members/", views.members, name="members"),
    path("members/<int:membership_id>/role/", views.change_member_role, name="member_role"),
    path("members/<int:membership_id>/remove/", views.remove_member, name="member_remove"),
    path(
        "invitations/<int:invitation_id>/revoke/",
        views.revoke_invitation,
        name="invitation_revoke",
    ),
    path("invitations/<str:token>/", views.respond_to_invitation, name="invitation_respond"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("api-keys/<int:key_id>/revoke/", views.revoke_api_key, name="api_key_revoke"),
    path("", include("audit.urls")),
    path("", include("identity.urls")),
    path("", include("connections.urls")),
    path("", include("agents.urls")),
    path("", include("mcpserver.urls")),
    path("", include("webhooks.urls")),
    path("", include("sandbox.urls")),
    path("", include("mcpserver.well_known")),
    path("oauth2/", include("mcpserver.oauth_urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("portal.api.urls")),
    path("api/v1/", include("audit.api.urls")),
    path("api/v1/", include("connections.api.urls")),
    path("api/v1/", include("agents.api.urls")),
    path("api/v1/", include("webhooks.api.urls")),
    path("api/v1/", include("sandbox.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api_schema"), name="api_docs"),
]


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    message = "The request could not be understood."
    if is_api_path(request.path):
        return json_error_response(400, "bad_request", message)
    return render(request, "error.html", {"status": 400, "message": message}, status=400)


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request.path):
        return json_error_response(404, "not_found", "Not found.")
    return render(request, "404.html", status=404)


def handler500(request: HttpRequest) -> HttpResponse:
    """A real bug: 500. A dependency that is away (core/dependencies.py): 503 with
    Retry-After, on every route and page, whichever layer met it."""
    outage = current_outage()
    if outage is not None:
        code, message = outage
        if is_api_path(request.path):
            response: HttpResponse = json_error_response(503, code, message)
        else:
            # No request context: its processors may need the database that is away.
            response = HttpResponse(render_to_string("503.html", {"message": message}), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    if is_api_path(request.path):
        return json_error_response(500, "server_error", "Something went wrong on our side.")
    return render(request, "500.html", status=500)
