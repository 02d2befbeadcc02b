"""The fixed personas of the clinic's tests (as in healthchecks' BaseTestCase).

- alice: a practitioner (role ``practitioner``), qualified today for every modality;
- bob: her colleague in another role (``front_desk``), not a practitioner;
- charlie: an outsider: a login, but no clinic role and no practitioner record.

Each is a plain user whose password is :data:`PASSWORD`, so a test can log in through the
real login form; tests that are not about logging in use ``client.force_login(user)``.
Roles that sign in with a second factor (alice's) use an authenticator set up with
:data:`TOTP_SECRET` when a test signs in through the pages (:func:`sign_in`,
:func:`one_time_code`).
"""

from __future__ import annotations

import datetime as dt
import time
from functools import cache
from typing import Any

import pyotp
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from cryoderm.clinic.accounts.permissions import FRONT_DESK, PRACTITIONER, grant_role
from cryoderm.clinic.records.models import Modality, Practitioner, Qualification

PASSWORD = "correct horse battery staple"
#: The personas' authenticator secret (base32), as their phone app would hold it.
TOTP_SECRET = "PERSONASPERSONASPERSONASPERSONAS"


@cache
def _password_hash() -> str:
    # Hashing with the production hasher (Argon2) takes ~0.3 s: do it once per test process.
    return make_password(PASSWORD)


def make_user(username: str, first: str, last: str) -> Any:
    """A user with the personas' password and no role."""
    return get_user_model().objects.create(
        username=username,
        email=f"{username}@example.org",
        first_name=first,
        last_name=last,
        password=_password_hash(),
    )


def make_practitioner(user: Any, *, valid_until: dt.date | None = None) -> Practitioner:
    """A practitioner record for ``user``, qualified for every modality until ``valid_until``."""
    today = dt.date.today()
    practitioner = Practitioner.objects.create(user=user, display_name=user.get_full_name())
    for modality in Modality.values:
        Qualification.objects.create(
            practitioner=practitioner,
            modality=modality,
            title=f"{Modality(modality).label} operator course",
            issuer="Example Training Academy",
            issued_on=today - dt.timedelta(days=100),
            expires_on=valid_until or today + dt.timedelta(days=265),
        )
    return practitioner


def alice() -> Any:
    user = make_user("alice", "Alice", "Arden")
    grant_role(user, PRACTITIONER)
    make_practitioner(user)
    return user


def bob() -> Any:
    user = make_user("bob", "Bob", "Baker")
    grant_role(user, FRONT_DESK)
    return user


def charlie() -> Any:
    return make_user("charlie", "Charlie", "Cole")


def enrol_authenticator(user: Any) -> None:
    """Set up ``user``'s authenticator with :data:`TOTP_SECRET` (once)."""
    from cryoderm.clinic.accounts import mfa

    if not mfa.enrolled(user):
        mfa.enrol_with_secret(user, TOTP_SECRET, actor="system:tests")


def one_time_code(user: Any) -> str:
    """A code of ``user``'s authenticator that has not been used yet (the clinic accepts each
    30 s step once, one step either side of now): waits for the next step when needed."""
    from cryoderm.clinic.accounts.models import TotpDevice

    enrol_authenticator(user)
    last = TotpDevice.objects.get(user=user).last_step
    while True:
        now_step = int(time.time()) // 30
        step = max(now_step - 1, last + 1)
        if step <= now_step + 1:
            return str(pyotp.TOTP(TOTP_SECRET).at(step * 30))
        time.sleep(30 - time.time() % 30 + 0.05)


def sign_in(
    browser: Any, username: str, password: str = PASSWORD, next_url: str = "", **extra: Any
) -> Any:
    """Sign in through the pages (password, then the code when the role needs one), asking
    for ``next_url`` if given; the last response."""
    from django.contrib.auth import get_user_model

    from cryoderm.clinic.accounts import mfa

    user = get_user_model().objects.get(username=username)
    if mfa.required(user):
        enrol_authenticator(user)
    form = {"username": username, "password": password}
    if next_url:
        form["next"] = next_url
    response = browser.post("/login/", form, **extra)
    if response.status_code == 302 and response["Location"].startswith("/login/code/"):
        response = browser.post("/login/code/", {"code": one_time_code(user)}, **extra)
    return response
