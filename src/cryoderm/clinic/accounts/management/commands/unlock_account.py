"""``cryoderm manage unlock_account USERNAME``: forget a name's failed sign-ins (its delays)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from cryoderm.clinic.accounts import throttle


class Command(BaseCommand):
    help = "Forget the failed sign-ins of USERNAME, so that no delay applies to it any more."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        cleared = throttle.clear(options["username"])
        self.stdout.write(f"{options['username']}: {cleared} failed sign-in(s) forgotten")
