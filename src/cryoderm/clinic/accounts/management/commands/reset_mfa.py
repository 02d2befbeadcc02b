"""``cryoderm manage reset_mfa USERNAME``: remove a user's authenticator and recovery codes."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cryoderm.clinic.accounts import mfa


class Command(BaseCommand):
    help = (
        "Remove USERNAME's authenticator and recovery codes (a lost phone): they set up a new "
        "one at their next sign-in, after their password. Check who is asking first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"username = {options['username']!r}: no such user")
        removed = mfa.reset(user, actor="cli:manage")
        self.stdout.write(
            f"{user.get_username()}: authenticator removed; a new one is set up at the next sign-in"
            if removed
            else f"{user.get_username()} had no authenticator"
        )
