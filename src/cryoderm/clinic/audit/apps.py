from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The append-only, hash-chained audit log."""

    name = "cryoderm.clinic.audit"
    label = "audit"
    verbose_name = "Audit log"
