from django.apps import AppConfig


class RecordsConfig(AppConfig):
    """Clients, screening, consent, staff, devices, scheduling, sessions, outcomes."""

    name = "cryoderm.clinic.records"
    label = "records"
    verbose_name = "Clinic records"
