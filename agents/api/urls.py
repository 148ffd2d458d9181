from django.urls import path

from agents.api import views

urlpatterns = [
    path("agents", views.AgentListView.as_view(), name="api_agents"),
    path("agents/<uuid:agent_id>", views.AgentDetailView.as_view(), name="api_agent"),
    path("agents/<uuid:agent_id>/runs", views.StartRunView.as_view(), name="api_agent_runs"),
    path("agent-runs", views.RunListView.as_view(), name="api_agent_run_list"),
    path("agent-runs/<uuid:run_id>", views.RunDetailView.as_view(), name="api_agent_run"),
    path(
        "agent-runs/<uuid:run_id>/approve",
        views.ApproveRunView.as_view(),
        name="api_agent_run_approve",
    ),
    path(
        "agent-runs/<uuid:run_id>/reject",
        views.RejectRunView.as_view(),
        name="api_agent_run_reject",
    ),
]
