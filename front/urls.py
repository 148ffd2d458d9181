from django.urls import path

from front import toolsets, views

urlpatterns = [
    path("", views.home, name="home"),
    path("ops/", views.operations_page, name="operations"),
    path("toolsets/", toolsets.toolset_list, name="toolsets"),
    path("toolsets/<slug:toolset>/", toolsets.toolset_detail, name="toolset_detail"),
    path("toolsets/<slug:toolset>/delete/", toolsets.toolset_delete, name="toolset_delete"),
]
