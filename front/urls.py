from django.urls import path

from front import views

urlpatterns = [
    path("", views.home, name="home"),
    path("ops/", views.operations_page, name="operations"),
]
