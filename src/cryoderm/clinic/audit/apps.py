from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The append-only audit log, sealed and checkpointed with keys outside the database."""

    name = "cryoderm.clinic.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from django.core import checks

        checks.register(key_directory_check, checks.Tags.security)


def key_directory_check(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """Start-up check: the key directory and its secrets are private to this account."""
    from pathlib import Path

    from django.conf import settings
    from django.core import checks

    from cryoderm.clinic import keys

    return [
        checks.Error(problem, id="cryoderm.audit.E001")
        for problem in keys.problems(Path(settings.CRYODERM_KEY_DIR))
    ]
