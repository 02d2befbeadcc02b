from django.apps import AppConfig


class ClinicConfig(AppConfig):
    """The project itself: registers the start-up check of the storage configuration."""

    name = "cryoderm.clinic"
    label = "clinic"
    verbose_name = "cryoderm clinic"

    def ready(self) -> None:
        from django.core import checks

        from cryoderm.clinic import storage

        checks.register(storage.system_check, checks.Tags.database)
