"""The clinic's URLs. The JSON API mounts under ``api/``, the pages under the site root."""

from django.urls import path

from cryoderm.clinic import views
from cryoderm.clinic.api.app import api

urlpatterns = [
    path("healthz", views.health, name="health"),
    path("api/", api.urls),
    path("", views.home, name="home"),
]
