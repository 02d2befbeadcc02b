"""Who is calling: a bearer token (devices, API users) or the UI's session cookie.

Both produce a :class:`Principal`. A device token's principal may do nothing but ingest
readings for its own device; a user token or a session acts with the user's roles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import HttpError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from cryoderm.clinic.accounts import permissions, tokens
from cryoderm.clinic.accounts.errors import PermissionRefused

INGEST = "reading.ingest"


@dataclass(frozen=True)
class Principal:
    """The caller. ``user`` acts (user token, session) or issued the token (device token)."""

    user: Any
    device_id: int | None = None
    device_serial: str = ""
    token_name: str = ""
    #: A user's API token rather than a signed-in session (a device token is one too).
    by_token: bool = False

    @property
    def is_device(self) -> bool:
        return self.device_id is not None

    @property
    def label(self) -> str:
        if self.is_device:
            return f"device token {self.token_name!r}"
        return str(self.user.get_username())

    @property
    def audit_actor(self) -> Any:
        """Who the audit log names: the device for a device token, else the user."""
        return f"device:{self.device_serial}" if self.is_device else self.user

    def require(self, action: str, device_id: int | None = None) -> None:
        """Raise :class:`PermissionRefused` unless this caller may do ``action``.

        Device tokens may only ingest, and only for ``device_id`` equal to their own; a
        user's token may not do what needs the person present
        (:data:`~cryoderm.clinic.accounts.permissions.PRESENCE_REQUIRED`)."""
        if self.is_device:
            if action == INGEST and device_id == self.device_id:
                return
            raise PermissionRefused(action=action, who=self.label, roles=("device",))
        if self.by_token and action in permissions.PRESENCE_REQUIRED:
            raise PermissionRefused(
                action=f"{action} with an API token (sign in to the clinic's pages)",
                who=f"{self.label}'s token {self.token_name!r}",
                roles=permissions.roles_of(self.user),
            )
        permissions.require(self.user, action)


class BearerToken(HttpBearer):
    """``Authorization: Bearer cdt_...``: a device token or a user's API token."""

    def authenticate(self, request: HttpRequest, token: str) -> Principal | None:
        found = tokens.authenticate(token)
        if found is None:
            return None
        # assumption: last_used_at answers "is this token still in use?" (list_tokens shows
        # it to the minute), so a minute's precision is enough: it is written at most once a
        # minute, and a device sending a batch a second costs no write per batch.
        now = timezone.now()
        if found.last_used_at is None or (now - found.last_used_at).total_seconds() > 60:
            type(found).objects.filter(pk=found.pk).update(last_used_at=now)
        return Principal(
            user=found.user,
            device_id=found.device_id,
            device_serial=found.device.serial_number if found.device is not None else "",
            token_name=found.name,
            by_token=True,
        )


class SessionCookie(APIKeyCookie):
    """The UI's signed-in session; unsafe methods need the CSRF token, as in the UI."""

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Principal | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if check_csrf(request) is not None:
            raise HttpError(403, "CSRF check failed: send the X-CSRFToken header of the page")
        return Principal(user=user)


def principal(request: HttpRequest) -> Principal:
    """The authenticated caller of this request (set by django-ninja's auth)."""
    return request.auth  # type: ignore[attr-defined, no-any-return]
