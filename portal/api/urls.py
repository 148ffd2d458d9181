from django.urls import path

from portal.api import views

urlpatterns = [
    path("organization", views.OrganizationView.as_view(), name="api_organization"),
    path("members", views.MemberListView.as_view(), name="api_members"),
]
