from django.urls import path

from front import approval_links, metrics, policy, toolsets, usage, views

urlpatterns = [
    path("", views.home, name="home"),
    path("ops/", views.operations_page, name="operations"),
    path("approve/<str:token>/", approval_links.approval_link_page, name="approval_link"),
    path("usage/", usage.usage_page, name="usage"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("policy/", policy.policy_page, name="policy"),
    path("policy/<uuid:rule_id>/", policy.rule_page, name="policy_rule"),
    path("policy/<uuid:rule_id>/delete/", policy.rule_delete, name="policy_rule_delete"),
    path("toolsets/", toolsets.toolset_list, name="toolsets"),
    path("toolsets/<slug:toolset>/", toolsets.toolset_detail, name="toolset_detail"),
    path("toolsets/<slug:toolset>/delete/", toolsets.toolset_delete, name="toolset_delete"),
]
