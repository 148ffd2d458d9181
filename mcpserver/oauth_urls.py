"""The OAuth 2.1 authorization server (django-oauth-toolkit) under /oauth2/, in the
`oauth2_provider` namespace its metadata view resolves endpoints from."""

from django.urls import path

from mcpserver import views

app_name = "oauth2_provider"

urlpatterns = [
    path("authorize/", views.ConsentView.as_view(), name="authorize"),
    path("token/", views.PortalTokenView.as_view(), name="token"),
    path("revoke/", views.RevokeView.as_view(), name="revoke-token"),
    path("register/", views.RegisterView.as_view(), name="dcr-register"),
    # RFC 7592: the client reads, updates or deletes its own registration.
    path(
        "register/<str:client_id>/",
        views.RegistrationManagementView.as_view(),
        name="dcr-register-management",
    ),
]
