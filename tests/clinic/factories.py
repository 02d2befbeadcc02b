"""Small factories for the clinic's tests: each builds one realistic record through the
services (so audit entries are written as in production). Defaults describe a client who may
be treated today, on a calibrated, serviced device."""

from __future__ import annotations

import datetime as dt
from typing import Any

from clinic.personas import PASSWORD
from cryoderm.clinic.records.models import Client, Device, Room, TreatmentSession
from cryoderm.clinic.records.services import (
    clients,
    consent,
    devices,
    planning,
    scheduling,
    screening,
)

#: A drawn signature as the pad sends it (an SVG path in the pad's pixels).
SIGNATURE = (
    "M 20 70 L 32 32 L 44 64 L 56 35 L 68 67 L 80 29 L 92 70 L 104 32 L 116 64 L 128 35 "
    "L 140 67 L 152 29 L 164 70 M 60 85 L 170 80"
)

#: Who sets up the clinic's equipment and texts in tests: a process label, not a person.
SYSTEM = "system:tests"

CLEAR_ANSWERS = {
    "age_years": 42,
    "sex": "female",
    "fitzpatrick": 2,
    "blood_pressure_mmhg": [122, 78],
    "conditions": [],
}


def make_client(actor: Any, confirm_new_person: bool = True, **fields: Any) -> Client:
    """A client (Dana Doe unless told otherwise); tests make several on purpose, so the
    possible-duplicate check is confirmed unless ``confirm_new_person`` is False."""
    values = {
        "given_name": "Dana",
        "family_name": "Doe",
        "date_of_birth": dt.date(1984, 5, 17),
        "sex": "female",
        "fitzpatrick_type": 2,
    }
    values.update(fields)
    return clients.create(actor, confirm_new_person=confirm_new_person, **values)


def make_device(
    *,
    modality: str = "cold-air",
    serial_number: str = "CA-0001",
    calibrated_days_ago: int | None = 10,
    serviced_days_ago: int = 20,
) -> Device:
    today = dt.date.today()
    device = devices.register(
        SYSTEM,
        modality=modality,
        manufacturer="Example Medical",
        model_name=f"Unit {serial_number}",
        serial_number=serial_number,
        commissioned_on=today - dt.timedelta(days=400),
        calibration_interval_days=365,
        service_interval_days=365,
    )
    devices.record_maintenance(
        SYSTEM,
        device,
        kind="service",
        performed_on=today - dt.timedelta(days=serviced_days_ago),
        performed_by="Example Medical service",
    )
    if calibrated_days_ago is not None:
        devices.record_calibration(
            SYSTEM,
            device,
            performed_on=today - dt.timedelta(days=calibrated_days_ago),
            performed_by="Example Metrology",
            reference_instrument="reference thermometer",
            max_error_c=0.2,
            passed=True,
        )
    return device


def publish_texts() -> None:
    for scope in ("treatment", "photos", "marketing"):
        consent.publish_text(
            SYSTEM, scope, title=f"{scope.title()} consent", body=f"I consent to {scope}."
        )


def sign_consent(actor: Any, client: Client, scope: str = "treatment") -> Any:
    if consent.current_text(scope) is None:
        publish_texts()
    return consent.sign(actor, client, scope, signer_name=client.full_name, signature=SIGNATURE)


def screen(actor: Any, client: Client, answers: dict[str, Any] | None = None, **kw: Any) -> Any:
    return screening.submit(actor, client, answers or CLEAR_ANSWERS, **kw)


def ready_session(
    practitioner_user: Any,
    zones: tuple[str, ...] | list[str] = ("forehead", "cheek"),
    **device_options: Any,
) -> TreatmentSession:
    """A planned session (skin-tone on ``zones``) whose every gate is open, run by
    ``practitioner_user``."""
    client = make_client(practitioner_user)
    device = make_device(**device_options)
    screen(practitioner_user, client)
    sign_consent(practitioner_user, client)
    return planning.plan_session(
        practitioner_user,
        client_id=client.pk,
        device_id=device.pk,
        zones=list(zones),
        goals=["skin-tone"],
    )


def sign_off(
    actor: Any, referred: Any, rule_id: str, second: Any, reason: str = "GP letter"
) -> Any:
    """A sign-off confirmed by ``second`` with their (persona) password."""
    return screening.sign_off(
        actor,
        referred.pk,
        rule_id,
        reason=reason,
        second=screening.SecondClinician(second.get_username(), password=PASSWORD),
    )


def make_room(name: str = "Room 1") -> Room:
    return scheduling.add_room(SYSTEM, name)
