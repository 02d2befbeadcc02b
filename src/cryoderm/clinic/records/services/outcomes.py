"""Outcomes: scores and instrumental measures (with their unit). Photographs: ``photos``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from cryoderm.clinic import audit

from ..errors import InvalidRecord
from ..models import Client, InstrumentalMeasure, OutcomeScore, TreatmentSession
from ._common import authorize, load, now_or, require_finite, require_text, require_zone, validated


def _session_of(client: Client, session_id: object | None) -> TreatmentSession | None:
    if session_id is None:
        return None
    session = load(TreatmentSession, session_id)
    if session.client_id != client.pk:
        raise InvalidRecord(
            "session", f"session {session.pk} is not a session of client {client.pk}"
        )
    return session


@transaction.atomic
def record_score(
    actor: Any,
    client_id: object,
    *,
    rater: str,
    scale: str,
    scale_min: float,
    scale_max: float,
    score: float,
    session_id: object | None = None,
    notes: str = "",
    at: dt.datetime | None = None,
) -> OutcomeScore:
    authorize(actor, "outcome.record")
    client = load(Client, client_id)
    low = require_finite("scale_min", scale_min, "scale points")
    high = require_finite("scale_max", scale_max, "scale points")
    value = require_finite("score", score, "scale points")
    if high <= low:
        raise InvalidRecord("scale_max", f"{high} must be above scale_min {low}")
    if not low <= value <= high:
        raise InvalidRecord("score", f"{value} is outside the scale {scale} ({low}-{high})")
    result = validated(
        OutcomeScore(
            client=client,
            session=_session_of(client, session_id),
            assessed_at=now_or(at),
            rater=rater,
            scale=require_text("scale", scale),
            scale_min=low,
            scale_max=high,
            score=value,
            recorded_by=actor,
            notes=notes,
        )
    )
    result.save()
    audit.record(actor, "outcome.score", client, {"score": result.pk, "scale": scale})
    return result


@transaction.atomic
def record_measure(
    actor: Any,
    client_id: object,
    *,
    quantity: str,
    value: float,
    unit: str,
    zone: str,
    instrument: str = "",
    session_id: object | None = None,
    at: dt.datetime | None = None,
) -> InstrumentalMeasure:
    """A measure in the unit its quantity is recorded in (InstrumentalMeasure.UNITS)."""
    authorize(actor, "outcome.record")
    client = load(Client, client_id)
    expected = InstrumentalMeasure.UNITS.get(quantity)
    if expected is None:
        raise InvalidRecord(
            "quantity", f"{quantity!r} is not one of {', '.join(InstrumentalMeasure.UNITS)}"
        )
    if unit != expected:
        raise InvalidRecord("unit", f"{quantity} is recorded in {expected!r}, not {unit!r}")
    measure = InstrumentalMeasure.objects.create(
        client=client,
        session=_session_of(client, session_id),
        measured_at=now_or(at),
        zone=require_zone("zone", zone),
        quantity=quantity,
        value=require_finite("value", value, unit),
        unit=unit,
        instrument=instrument,
        recorded_by=actor,
    )
    audit.record(actor, "outcome.measure", client, {"measure": measure.pk, "quantity": quantity})
    return measure
