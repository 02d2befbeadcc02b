"""``cryoderm manage unlock_account USERNAME``: lift a login lockout."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from cryoderm.clinic.accounts import lockout


class Command(BaseCommand):
    help = "Forget the failed logins of USERNAME so that it may sign in again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        cleared = lockout.clear(options["username"])
        self.stdout.write(f"{options['username']}: {cleared} failed login(s) forgotten")
