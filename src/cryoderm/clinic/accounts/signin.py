"""The steps of signing in to the pages: password, then (when needed) a second factor or
enrolment, then the session. The views parse forms and render; the rules are here.

Between the password and the second factor nothing is signed in: the browser's session
holds only who passed the password, when, and how many codes they have tried. It lasts
``PENDING_MAX_AGE_S``; after ``MAX_CODE_TRIES`` wrong codes it ends and the password is
asked again (and each wrong code is a throttle failure, as a wrong password is).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model, login
from django.http import HttpRequest

from cryoderm.clinic import audit
from cryoderm.clinic.accounts import mfa, throttle

PENDING = "cryoderm_signin_pending"
#: assumption: five minutes to open an authenticator app and type a code.
PENDING_MAX_AGE_S = 300
#: assumption: five wrong codes in a row is no longer a typing slip.
MAX_CODE_TRIES = 5


@dataclass(frozen=True)
class Pending:
    """Who passed the password in this browser, and where they were going."""

    user: Any
    backend: str
    next_url: str


def begin(request: HttpRequest, user: Any, next_url: str) -> None:
    """The password was right and a second step is needed: remember who, not signed in."""
    request.session.cycle_key()
    request.session[PENDING] = {
        "user": user.pk,
        "backend": user.backend,
        "at": time.time(),
        "next": next_url,
        "tries": 0,
    }


def pending(request: HttpRequest) -> Pending | None:
    """The pending sign-in of this browser, or None (none, expired, or the user gone)."""
    state = request.session.get(PENDING)
    if not isinstance(state, dict) or time.time() - float(state.get("at", 0)) > PENDING_MAX_AGE_S:
        request.session.pop(PENDING, None)
        return None
    user = get_user_model().objects.filter(pk=state.get("user"), is_active=True).first()
    if user is None:
        request.session.pop(PENDING, None)
        return None
    return Pending(user=user, backend=str(state["backend"]), next_url=str(state["next"]))


def wrong_code(request: HttpRequest, user: Any) -> bool:
    """Count a wrong code; True when the pending sign-in is now over (too many)."""
    throttle.record_failure(request, user.get_username())
    state = request.session.get(PENDING) or {}
    state["tries"] = int(state.get("tries", 0)) + 1
    if state["tries"] >= MAX_CODE_TRIES:
        request.session.pop(PENDING, None)
        return True
    request.session[PENDING] = state
    return False


def complete(request: HttpRequest, user: Any, backend: str, factor: str) -> None:
    """Open the session: every factor needed has been shown."""
    request.session.pop(PENDING, None)
    login(request, user, backend=backend)
    throttle.signed_in(request, user.get_username())
    audit.record(user, "auth.sign_in", user, {"factor": factor})


def second_factor(request: HttpRequest, state: Pending, code: str) -> str | None:
    """Check a code for the pending sign-in; the factor it proves, or None."""
    return mfa.verify(state.user, code)
