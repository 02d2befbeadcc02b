"""``cryoderm manage revoke_role USERNAME ROLE``: take one of the clinic's roles from a user
(audited as ``staff.revoke_role`` by ``cli:<the operating-system account that ran it>``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cryoderm.clinic.accounts import permissions
from cryoderm.clinic.accounts.management.role_command import RoleCommand


class Command(RoleCommand):
    help = f"Take the clinic role ROLE from USERNAME ({', '.join(permissions.ROLES)})."

    def change(self) -> Callable[..., Any]:
        return permissions.revoke_role
