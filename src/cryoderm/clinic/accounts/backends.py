"""Authentication backends: the password (throttled), and a one-time code that confirms a
signed-in colleague's presence (a second clinician's sign-off), never a sign-in by itself."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend, ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from cryoderm.clinic.accounts import mfa, throttle


def _refuse_while_waiting(request: HttpRequest | None, username: str) -> None:
    """Raising PermissionDenied stops Django's ``authenticate()`` from trying any other
    backend, so a delay cannot be bypassed through a second one."""
    wait = throttle.wait_for(request, username)
    if wait is not None:
        raise PermissionDenied(str(wait))


class ThrottledModelBackend(ModelBackend):
    """Django's password check, behind the sign-in throttle; a wrong password is counted.

    A right password does not clear the count: only a complete sign-in does (else knowing
    the password would reset the count of guesses at the second factor)."""

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
        _refuse_while_waiting(request, username)
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            throttle.record_failure(request, username)
        return user


class OneTimeCodeBackend(BaseBackend):
    """``authenticate(request, username=..., one_time_code=...)``: the user whose current
    authenticator code (or unused recovery code) this is. Used to confirm that a colleague
    is present (a second clinician's sign-off); the sign-in pages never call it, and it
    cannot open a session on its own (get_user finds nobody)."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        one_time_code: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if not username or not one_time_code:
            return None
        _refuse_while_waiting(request, username)
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is not None and mfa.verify(user, one_time_code):
            return user
        throttle.record_failure(request, username)
        return None
