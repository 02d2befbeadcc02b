"""``cryoderm manage grant_role USERNAME ROLE``: give a user one of the clinic's roles
(audited as ``staff.grant_role`` by ``cli:<the operating-system account that ran it>``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cryoderm.clinic.accounts import permissions
from cryoderm.clinic.accounts.management.role_command import RoleCommand


class Command(RoleCommand):
    help = f"Give USERNAME the clinic role ROLE ({', '.join(permissions.ROLES)})."

    def change(self) -> Callable[..., Any]:
        return permissions.grant_role
