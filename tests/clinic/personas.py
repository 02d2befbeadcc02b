"""The fixed personas of the clinic's tests (as in healthchecks' BaseTestCase).

- alice: a practitioner (role ``practitioner``), qualified today for every modality;
- bob: her colleague in another role (``front_desk``), not a practitioner;
- charlie: an outsider: a login, but no clinic role and no practitioner record.

Each is a plain user whose password is :data:`PASSWORD`, so a test can log in through the
real login form; tests that are not about logging in use ``client.force_login(user)``.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from cryoderm.clinic.accounts.permissions import FRONT_DESK, PRACTITIONER, grant_role
from cryoderm.clinic.records.models import Modality, Practitioner, Qualification

PASSWORD = "correct horse battery staple"


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
            title=f"{modality} operator course",
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
