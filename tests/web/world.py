"""A small clinic for the page tests: a calibrated and serviced LN2 device, the consent texts,
and a new client. Built through the records services, as the clinic itself would."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cryoderm.clinic.records.models import Client, Device
from cryoderm.clinic.records.services import consent as consent_service
from cryoderm.clinic.records.services import devices as device_service

TREATMENT_TEXT = (
    "Facial cryotherapy cools the skin for a short time. You may feel cold, tingling or "
    "numbness; redness usually fades within an hour. Tell the practitioner at once if the cold "
    "hurts. You may stop the treatment at any time."
)


def device(actor: str = "system:tests", modality: str = "ln2-vapour") -> Device:
    today = dt.date.today()
    dev = device_service.register(
        actor,
        modality=modality,
        manufacturer="Example Cryo",
        model_name="Wand 2",
        serial_number=f"SN-{modality}-1",
        commissioned_on=today - dt.timedelta(days=200),
        calibration_interval_days=180,
        service_interval_days=365,
    )
    device_service.record_calibration(
        actor,
        dev.pk,
        performed_on=today - dt.timedelta(days=20),
        performed_by="Example Metrology",
        reference_instrument="reference thermometer RT-1",
        max_error_c=0.2,
        passed=True,
    )
    return dev


def consent_texts(actor: str = "system:tests") -> None:
    consent_service.publish_text(
        actor, "treatment", title="Consent to facial cryotherapy", body=TREATMENT_TEXT
    )
    consent_service.publish_text(
        actor,
        "photos",
        title="Consent to clinical photographs",
        body="Photographs are kept in your record.",
    )


def client(**fields: Any) -> Client:
    values = {
        "given_name": "Ada",
        "family_name": "Lovelace",
        "date_of_birth": dt.date(1985, 12, 10),
        "sex": "female",
    }
    values.update(fields)
    return Client.objects.create(**values)
