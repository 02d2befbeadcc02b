from django.apps import AppConfig


class WebConfig(AppConfig):
    """Templates and static files of the clinic's pages (no models of its own)."""

    name = "cryoderm.clinic.web"
    label = "web"
    verbose_name = "Clinic web pages"
