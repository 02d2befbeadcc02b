"""The clinic's URLs. The JSON API mounts under ``api/``, the pages under the site root."""

from django.urls import path

from cryoderm.clinic import views

urlpatterns = [
    path("healthz", views.health, name="health"),
    path("", views.home, name="home"),
]
