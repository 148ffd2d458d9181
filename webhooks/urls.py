from django.urls import path

from webhooks import views

urlpatterns = [
    path("webhooks/", views.webhook_list, name="webhooks"),
    path("webhooks/<str:endpoint_id>/", views.webhook_detail, name="webhook_detail"),
]
