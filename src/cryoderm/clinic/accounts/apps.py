from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "cryoderm.clinic.accounts"
    label = "accounts"
    verbose_name = "Accounts and security"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the start-up checks (Argon2 first, sane lockout/idle settings).
        from cryoderm.clinic.accounts import account_log, checks  # noqa: F401

        # Passwords set and accounts (de)activated are audited whatever saves them.
        account_log.connect()
