"""``cryoderm manage grant_role USERNAME ROLE``: give a user one of the clinic's roles
(audited as ``staff.grant_role`` by ``cli:<the operating-system account that ran it>``)."""

from __future__ import annotations

import getpass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cryoderm.clinic.accounts import permissions


def _os_account() -> str:
    """Who ran the command, for the audit entry (a container may have no account name)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


class Command(BaseCommand):
    help = f"Give USERNAME the clinic role ROLE ({', '.join(permissions.ROLES)})."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("role", choices=permissions.ROLES)

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"username = {options['username']!r}: no such user")
        permissions.grant_role(user, options["role"], actor=f"cli:{_os_account()}")
        roles = ", ".join(permissions.roles_of(user))
        self.stdout.write(f"{user.get_username()} now holds: {roles}")
