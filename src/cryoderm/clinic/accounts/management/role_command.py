"""One shape for the commands that change a user's clinic roles (``grant_role``,
``revoke_role``): find the user, change the role through the permissions module (which
audits it as ``cli:<the operating-system account that ran it>``), say what they now hold."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cryoderm.clinic.accounts import permissions


def os_account() -> str:
    """Who ran the command, for the audit entry (a container may have no account name)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


class RoleCommand(BaseCommand):
    """A command taking USERNAME ROLE; subclasses name the permissions function to call."""

    def change(self) -> Callable[..., Any]:
        raise CommandError("a role command names the change it makes")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("role", choices=permissions.ROLES)

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"username = {options['username']!r}: no such user")
        self.change()(user, options["role"], actor=f"cli:{os_account()}")
        roles = ", ".join(permissions.roles_of(user))
        self.stdout.write(f"{user.get_username()} now holds: {roles}")
