from django.urls import path

from agents import views

urlpatterns = [
    path("agents/", views.agent_list, name="agents"),
    path("agents/new/", views.agent_create, name="agent_create"),
    path("agents/<uuid:agent_id>/", views.agent_detail, name="agent_detail"),
    path("agents/<uuid:agent_id>/edit/", views.agent_edit, name="agent_edit"),
    path("agents/<uuid:agent_id>/delete/", views.agent_delete, name="agent_delete"),
    path("runs/", views.run_list, name="agent_runs"),
    path("runs/<uuid:run_id>/", views.run_detail, name="agent_run_detail"),
    path(
        "runs/<uuid:run_id>/steps/<int:index>/result/",
        views.step_result,
        name="agent_step_result",
    ),
    path("runs/<uuid:run_id>/progress/", views.run_progress, name="agent_run_progress"),
    path(
        "runs/<uuid:run_id>/approve/",
        views.run_decide,
        {"decision": "approve"},
        name="agent_run_approve",
    ),
    path(
        "runs/<uuid:run_id>/reject/",
        views.run_decide,
        {"decision": "reject"},
        name="agent_run_reject",
    ),
]
