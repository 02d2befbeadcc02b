"""Small helpers for the API tests: JSON calls as a signed-in persona, and record makers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.test import Client

from clinic import personas
from cryoderm.clinic.accounts.permissions import MEDICAL_DIRECTOR, grant_role
from cryoderm.clinic.audit.models import AuditEntry
from cryoderm.clinic.records.models import Device


class Api:
    """A test client speaking JSON to /api/ as one signed-in user (or anonymously)."""

    def __init__(self, user: Any = None, *, token: str | None = None) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        if user is not None:
            self.client.force_login(user)

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/api{path}", params, headers=self.headers)

    def post(self, path: str, body: Any = None) -> Any:
        return self.client.post(
            f"/api{path}", body or {}, content_type="application/json", headers=self.headers
        )

    def patch(self, path: str, body: Any) -> Any:
        return self.client.patch(
            f"/api{path}", body, content_type="application/json", headers=self.headers
        )


def director() -> Any:
    """dora, the medical director, also a qualified practitioner."""
    user = personas.make_user("dora", "Dora", "Dunn")
    grant_role(user, MEDICAL_DIRECTOR)
    personas.make_practitioner(user)
    return user


def actions_audited() -> list[str]:
    """The actions audited, without the personas' set-up (their roles, ``staff.*``)."""
    return list(
        AuditEntry.objects.exclude(action__startswith="staff.")
        .order_by("seq")
        .values_list("action", flat=True)
    )


CLIENT = {
    "given_name": "Ada",
    "family_name": "Lovelace",
    "date_of_birth": "1985-12-10",
    "sex": "female",
    "email": "ada@example.org",
    "phone": "+44 20 7946 0000",
    "fitzpatrick_type": 2,
}


def make_device(serial: str = "SN-0001", modality: str = "cold-air", **extra: Any) -> Device:
    fields: dict[str, Any] = {
        "modality": modality,
        "manufacturer": "Example Cryo",
        "model_name": "Chiller 2",
        "serial_number": serial,
        "commissioned_on": dt.date.today() - dt.timedelta(days=30),
        "calibration_interval_days": 180,
        "service_interval_days": 365,
        **extra,
    }
    return Device.objects.create(**fields)
