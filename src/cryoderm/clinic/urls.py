"""The clinic's URLs. The JSON API mounts under ``api/``, the pages under the site root."""

from django.urls import include, path

from cryoderm.clinic import views
from cryoderm.clinic.api.app import api

urlpatterns = [
    path("healthz", views.health, name="health"),
    path("api/", api.urls),
    path("", include("cryoderm.clinic.web.urls")),
]
