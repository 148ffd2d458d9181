"""Discovery documents at the origin's root: RFC 8414 (authorization server) and
RFC 9728 (the /mcp protected resource: path-inserted and root forms)."""

from django.urls import path
from oauth2_provider import views as oauth

urlpatterns = [
    path(
        ".well-known/oauth-authorization-server",
        oauth.OAuthServerMetadataView.as_view(),
        name="oauth_server_metadata",
    ),
    path(
        ".well-known/oauth-protected-resource/mcp",
        oauth.OAuthProtectedResourceMetadataView.as_view(),
        name="mcp_resource_metadata",
    ),
    path(
        ".well-known/oauth-protected-resource",
        oauth.OAuthProtectedResourceMetadataView.as_view(),
        name="mcp_resource_metadata_root",
    ),
]
