from django.urls import path

from connections.api import policy, toolsets, views

urlpatterns = [
    path("providers", views.ProviderListView.as_view(), name="api_providers"),
    path("proxy", views.ProxyView.as_view(), name="api_proxy"),
    path("tools", views.ToolListView.as_view(), name="api_tools"),
    path("tools/execute", views.ToolExecuteView.as_view(), name="api_tools_execute"),
    path("tools/search", views.ToolSearchView.as_view(), name="api_tools_search"),
    path("policy-rules", policy.PolicyRuleListView.as_view(), name="api_policy_rules"),
    path("data-protection", policy.DataProtectionView.as_view(), name="api_data_protection"),
    path("policy-hook", policy.PolicyHookView.as_view(), name="api_policy_hook"),
    path("budgets", policy.BudgetListView.as_view(), name="api_budgets"),
    path("budgets/<uuid:budget_id>", policy.BudgetDetailView.as_view(), name="api_budget"),
    path(
        "policy-rules/<uuid:rule_id>",
        policy.PolicyRuleDetailView.as_view(),
        name="api_policy_rule",
    ),
    path("toolsets", toolsets.ToolsetListView.as_view(), name="api_toolsets"),
    path("toolsets/<slug:toolset>", toolsets.ToolsetDetailView.as_view(), name="api_toolset"),
    path("connections", views.ConnectionListView.as_view(), name="api_connections"),
    path("connections/<slug:name>", views.ConnectionDetailView.as_view(), name="api_connection"),
    path(
        "connected-accounts",
        views.ConnectedAccountListView.as_view(),
        name="api_connected_accounts",
    ),
    path(
        "connected-accounts/authorization-link",
        views.AuthorizationLinkView.as_view(),
        name="api_authorization_link",
    ),
    path("connected-accounts/verify", views.VerifyView.as_view(), name="api_verify"),
    path(
        "connected-accounts/<uuid:account_id>",
        views.ConnectedAccountDetailView.as_view(),
        name="api_connected_account",
    ),
    path(
        "connected-accounts/<uuid:account_id>/default",
        views.DefaultAccountView.as_view(),
        name="api_connected_account_default",
    ),
]
