"""Outcomes: scores on the clinic's scales and instrumental measures in their unit, each
within the range its scale or measure is defined on (data/outcomes.toml), at a time that has
happened; corrections that keep the earlier value; audited reads. Photographs: ``photos``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import transaction
from django.utils import timezone

from cryoderm.clinic import audit
from cryoderm.data import load_table

from ..errors import InvalidRecord
from ..models import Client, InstrumentalMeasure, OutcomeScore, TreatmentSession
from . import corrections
from ._common import (
    CLOCK_SKEW,
    authorize,
    load,
    now_or,
    require_finite,
    require_zone,
    validated,
)

SCORE_EDITABLE = ("score", "rater", "assessed_at", "notes")
MEASURE_EDITABLE = ("value", "zone", "instrument", "measured_at")


@dataclass(frozen=True)
class Scale:
    """A scale scores are given on: whole numbers from ``min`` to ``max``."""

    id: str
    label: str
    min: int
    max: int
    anchors: str
    source: str


@dataclass(frozen=True)
class MeasureRange:
    """The unit and the range an instrumental measure is defined on."""

    quantity: str
    unit: str
    min: float
    max: float
    source: str


@cache
def scales() -> dict[str, Scale]:
    """The clinic's scales by id (data/outcomes.toml)."""
    return {
        row["id"]: Scale(
            row["id"], row["label"], int(row["min"]), int(row["max"]), row["anchors"], row["source"]
        )
        for row in load_table("outcomes")["scale"]
    }


@cache
def measures() -> dict[str, MeasureRange]:
    """The measures by quantity (data/outcomes.toml), one unit each."""
    return {
        row["quantity"]: MeasureRange(
            row["quantity"], row["unit"], float(row["min"]), float(row["max"]), row["source"]
        )
        for row in load_table("outcomes")["measure"]
    }


def _scale(scale_id: str) -> Scale:
    found = scales().get(scale_id)
    if found is None:
        raise InvalidRecord("scale", f"{scale_id!r} is not one of {', '.join(scales())}")
    return found


def _happened(field: str, moment: dt.datetime) -> dt.datetime:
    if moment > timezone.now() + CLOCK_SKEW:
        raise InvalidRecord(field, f"{moment:%Y-%m-%d %H:%M} is in the future")
    return moment


def _check_score(score: OutcomeScore) -> None:
    """The score is a whole number on its scale (scales of data/outcomes.toml; scores
    recorded before the table keep the bounds stored with them)."""
    known = scales().get(score.scale)
    low, high = (known.min, known.max) if known else (score.scale_min, score.scale_max)
    value = require_finite("score", score.score, "scale points")
    if not low <= value <= high:
        raise InvalidRecord(
            "score", f"{value:g} is outside the scale {score.scale} ({low:g}-{high:g})"
        )
    if known is not None and value != int(value):
        raise InvalidRecord("score", f"{value:g}: the scale {known.id} has whole points only")
    _happened("assessed_at", score.assessed_at)


def _check_measure(measure: InstrumentalMeasure) -> None:
    defined = measures()[measure.quantity]
    value = require_finite("value", measure.value, defined.unit)
    if not defined.min <= value <= defined.max:
        raise InvalidRecord(
            "value",
            f"{value:g} {defined.unit} is outside the range of {measure.quantity} "
            f"({defined.min:g} to {defined.max:g} {defined.unit})",
        )
    require_zone("zone", measure.zone)
    _happened("measured_at", measure.measured_at)


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
    score: float,
    session_id: object | None = None,
    notes: str = "",
    at: dt.datetime | None = None,
) -> OutcomeScore:
    """A score on one of the clinic's scales (``scales()``), a whole number within it."""
    authorize(actor, "outcome.record")
    client = load(Client, client_id)
    chosen = _scale(scale)
    result = OutcomeScore(
        client=client,
        session=_session_of(client, session_id),
        assessed_at=now_or(at),
        rater=rater,
        scale=chosen.id,
        scale_min=chosen.min,
        scale_max=chosen.max,
        score=require_finite("score", score, "scale points"),
        recorded_by=actor,
        notes=notes,
    )
    _check_score(result)
    validated(result)
    result.save()
    audit.record(actor, "outcome.score", client, {"score": result.pk, "scale": chosen.id})
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
    """A measure in the unit its quantity is recorded in, within its defined range."""
    authorize(actor, "outcome.record")
    client = load(Client, client_id)
    defined = measures().get(quantity)
    if defined is None:
        raise InvalidRecord("quantity", f"{quantity!r} is not one of {', '.join(measures())}")
    if unit != defined.unit:
        raise InvalidRecord("unit", f"{quantity} is recorded in {defined.unit!r}, not {unit!r}")
    measure = InstrumentalMeasure(
        client=client,
        session=_session_of(client, session_id),
        measured_at=now_or(at),
        zone=zone,
        quantity=quantity,
        value=require_finite("value", value, unit),
        unit=unit,
        instrument=instrument,
        recorded_by=actor,
    )
    _check_measure(measure)
    validated(measure)
    measure.save()
    audit.record(actor, "outcome.measure", client, {"measure": measure.pk, "quantity": quantity})
    return measure


@transaction.atomic
def correct_score(actor: Any, score_id: object, *, reason: str, **fields: Any) -> OutcomeScore:
    """Correct a score (its value, rater, time or notes); the earlier values are kept."""
    authorize(actor, "outcome.record")
    score = load(OutcomeScore, score_id, lock=True)
    return corrections.apply(
        actor,
        score,
        fields,
        reason=reason,
        editable=SCORE_EDITABLE,
        action="outcome.score_correct",
        check=_check_score,
    )


@transaction.atomic
def correct_measure(
    actor: Any, measure_id: object, *, reason: str, **fields: Any
) -> InstrumentalMeasure:
    """Correct a measure (value, zone, instrument or time); the earlier values are kept."""
    authorize(actor, "outcome.record")
    measure = load(InstrumentalMeasure, measure_id, lock=True)
    return corrections.apply(
        actor,
        measure,
        fields,
        reason=reason,
        editable=MEASURE_EDITABLE,
        action="outcome.measure_correct",
        check=_check_measure,
    )


@dataclass(frozen=True)
class Outcomes:
    """A client's scores and measures, newest first."""

    scores: list[OutcomeScore]
    measures: list[InstrumentalMeasure]


@transaction.atomic
def for_client(actor: Any, client_id: object) -> Outcomes:
    """The client's outcomes, the read audited."""
    authorize(actor, "outcome.view")
    client = load(Client, client_id)
    found = Outcomes(
        scores=list(OutcomeScore.objects.filter(client=client).order_by("-assessed_at", "id")),
        measures=list(
            InstrumentalMeasure.objects.filter(client=client).order_by("-measured_at", "id")
        ),
    )
    audit.record(
        actor,
        "outcome.read",
        client,
        {"scores": len(found.scores), "measures": len(found.measures)},
    )
    return found
