"""Django's model backend with the login lockout in front of the password check."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from cryoderm.clinic.accounts import lockout
from cryoderm.clinic.accounts.errors import AccountLocked


class LockoutModelBackend(ModelBackend):
    """Refuses a locked username before looking at the password; counts failures.

    Raising :class:`PermissionDenied` stops Django's ``authenticate()`` from trying any other
    backend, so a lock cannot be bypassed through a second backend."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        try:
            lockout.check(username)
        except AccountLocked as locked:
            raise PermissionDenied(str(locked)) from locked
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            remote = request.META.get("REMOTE_ADDR", "") if request is not None else ""
            lockout.record_failure(username, remote_addr=remote or "")
        else:
            lockout.clear(username)
        return user
