from django.urls import path

from . import views

app_name = "previews"

urlpatterns = [
    path("", views.home, name="home"),
]
