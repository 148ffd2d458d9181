from django.urls import path

from sandbox import views

urlpatterns = [
    path("sandbox/w/<uuid:world_id>/", views.world_page, name="sandbox_world"),
    path("sandbox/w/<uuid:world_id>/<path:rest>", views.authorize, name="sandbox_authorize"),
    path("sandbox/connections/<slug:provider>/", views.add_connection, name="sandbox_add"),
    path("sandbox/reset/", views.reset, name="sandbox_reset"),
]
