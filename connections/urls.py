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
    path("connections/new/<slug:provider>/", views.connection_new, name="connection_new"),
    path("connections/<slug:name>/", views.connection_detail, name="connection_detail"),
    path("connections/<slug:name>/delete/", views.connection_delete, name="connection_delete"),
    path("connected-accounts/", views.connected_accounts, name="connected_accounts"),
    path("connected-accounts/<slug:name>/connect/", views.connect, name="connect"),
    path("connected-accounts/<slug:name>/disconnect/", views.disconnect_own, name="disconnect_own"),
    path("connected-accounts/<slug:name>/default/", views.make_default, name="make_default"),
    path("tools/", views.tool_list, name="tools"),
    path("tools/<str:tool_name>/", views.tool_detail, name="tool_detail"),
    path("oauth/authorize/<uuid:auth_request_id>/", views.oauth_authorize, name="oauth_authorize"),
    path("oauth/callback/<slug:provider>/", views.oauth_callback, name="oauth_callback"),
    path("oauth/done/", views.oauth_done, name="oauth_done"),
]
