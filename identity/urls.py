from django.urls import path, re_path

from identity import scim_views, views

urlpatterns = [
    path("identity/", views.identity, name="identity"),
    path("identity/sso/", views.configure_sso, name="sso_configure"),
    path("sso/", views.sso_start, name="sso_start"),
    path("identity/tokens/<int:token_id>/revoke/", views.revoke_token, name="scim_token_revoke"),
    path("identity/domains/", views.add_domain, name="domain_add"),
    path("identity/domains/<str:domain_id>/", views.domain_action, name="domain_action"),
    path("identity/issuers/", views.add_issuer, name="issuer_add"),
    path("identity/issuers/<str:issuer_id>/remove/", views.remove_issuer, name="issuer_remove"),
    path("identity/groups/<str:group_id>/role/", views.map_group, name="scim_group_role"),
    path("scim/v2/.search", scim_views.search_everything, name="scim_search"),
    path("scim/v2/Users", scim_views.users, name="scim_users"),
    path("scim/v2/Users/.search", scim_views.search_users, name="scim_users_search"),
    path("scim/v2/Users/<str:scim_id>", scim_views.user, name="scim_user"),
    path("scim/v2/Groups", scim_views.groups, name="scim_groups"),
    path("scim/v2/Groups/.search", scim_views.search_groups, name="scim_groups_search"),
    path("scim/v2/Groups/<str:group_id>", scim_views.group, name="scim_group"),
    path(
        "scim/v2/ServiceProviderConfig",
        scim_views.service_provider_config,
        name="scim_service_provider_config",
    ),
    path("scim/v2/Schemas", scim_views.schemas, name="scim_schemas"),
    path("scim/v2/Schemas/<str:schema_id>", scim_views.schemas, name="scim_schema"),
    path("scim/v2/ResourceTypes", scim_views.resource_types, name="scim_resource_types"),
    path(
        "scim/v2/ResourceTypes/<str:type_id>", scim_views.resource_types, name="scim_resource_type"
    ),
    re_path(r"^scim/v2/(?P<rest>.*)$", scim_views.not_found, name="scim_not_found"),
]
