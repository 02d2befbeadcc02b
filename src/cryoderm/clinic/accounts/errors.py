"""The accounts layer's refusals, written for the person refused.

Both are :class:`cryoderm.errors.NotPermitted`; the API's one exception handler maps a
:class:`PermissionRefused` to 403 and an :class:`AccountLocked` to 429."""

from __future__ import annotations

from dataclasses import dataclass

from cryoderm.errors import NotPermitted


@dataclass(frozen=True, eq=False)
class PermissionRefused(NotPermitted):
    """The acting user's roles (or the device token's scope) do not allow ``action``."""

    action: str
    who: str
    roles: tuple[str, ...]

    def __str__(self) -> str:
        held = ", ".join(self.roles) if self.roles else "no clinic role"
        return (
            f"{self.who} may not {self.action} (roles held: {held}); "
            "ask the clinic's administrator for a role that allows it"
        )


@dataclass(frozen=True, eq=False)
class AccountLocked(NotPermitted):
    """Too many failed logins for ``username``: refused until ``retry_after_s`` has passed."""

    username: str
    retry_after_s: int

    def __str__(self) -> str:
        minutes = max(1, -(-self.retry_after_s // 60))
        return (
            f"account {self.username!r} is locked after repeated failed logins; "
            f"try again in {minutes} min or ask an administrator to unlock it"
        )
