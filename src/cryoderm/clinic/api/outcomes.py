"""Outcomes of a client: clinician and client-reported scores, instrumental measures with
units, and consents (the scopes that gate treatment and photographs)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from cryoderm.clinic import audit
from cryoderm.clinic.api.auth import principal
from cryoderm.clinic.api.errors import ERRORS
from cryoderm.clinic.api.fields import Finite, Id, Label, Line, Note, Signature, Unit
from cryoderm.clinic.records.models import Client, InstrumentalMeasure, OutcomeScore
from cryoderm.clinic.records.services import _common
from cryoderm.clinic.records.services import consent as consent_service
from cryoderm.clinic.records.services import outcomes as outcome_service

router = Router(tags=["outcomes"])

Quantity = Literal["erythema-index", "elasticity", "hydration", "tewl"]


class ScoreIn(Schema):
    rater: Literal["clinician", "client"]
    scale: Label = Field(description="e.g. GAIS, satisfaction 0-10")
    scale_min: Finite
    scale_max: Finite
    score: Finite
    session_id: Id | None = None
    notes: Note = ""


class ScoreOut(Schema):
    id: int
    session_id: int | None
    assessed_at: dt.datetime
    rater: str
    scale: str
    scale_min: float
    scale_max: float
    score: float
    notes: str


class MeasureIn(Schema):
    quantity: Quantity
    value: Finite
    unit: Unit = Field(
        description="erythema-index: a.u., elasticity: ratio, hydration: a.u., tewl: g/m2/h"
    )
    zone: Label
    instrument: Line = ""
    session_id: Id | None = None


class MeasureOut(Schema):
    id: int
    session_id: int | None
    measured_at: dt.datetime
    zone: str
    quantity: str
    value: float
    unit: str
    instrument: str


class OutcomesOut(Schema):
    scores: list[ScoreOut]
    measures: list[MeasureOut]


class ConsentIn(Schema):
    scope: Literal["treatment", "photos", "marketing"]
    signer_name: Label
    signature: Signature = Field(description="the drawn signature (SVG path or data URL)")


class ConsentOut(Schema):
    id: int
    scope: str
    text_id: int
    text_sha256: str
    signer_name: str
    signed_at: dt.datetime
    withdrawn_at: dt.datetime | None


@router.post("/{client_id}/scores", response={201: ScoreOut, **ERRORS}, summary="Record a score")
def record_score(request: HttpRequest, client_id: Id, payload: ScoreIn) -> Any:
    caller = principal(request)
    caller.require("outcome.record")
    return Status(201, outcome_service.record_score(caller.user, client_id, **payload.dict()))


@router.post(
    "/{client_id}/measures",
    response={201: MeasureOut, **ERRORS},
    summary="Record an instrumental measure (in its quantity's unit)",
)
def record_measure(request: HttpRequest, client_id: Id, payload: MeasureIn) -> Any:
    caller = principal(request)
    caller.require("outcome.record")
    return Status(201, outcome_service.record_measure(caller.user, client_id, **payload.dict()))


@router.get("/{client_id}/outcomes", response={200: OutcomesOut, **ERRORS})
def outcomes(request: HttpRequest, client_id: Id) -> Any:
    caller = principal(request)
    caller.require("outcome.view")
    client = _common.load(Client, client_id)
    scores = list(OutcomeScore.objects.filter(client=client).order_by("-assessed_at", "id"))
    measures = list(
        InstrumentalMeasure.objects.filter(client=client).order_by("-measured_at", "id")
    )
    audit.record(
        caller.audit_actor,
        "outcome.read",
        client,
        {"scores": len(scores), "measures": len(measures)},
    )
    return OutcomesOut(scores=scores, measures=measures)


@router.post(
    "/{client_id}/consents",
    response={201: ConsentOut, **ERRORS},
    summary="Record the client's signed consent to the current text of a scope",
)
def sign_consent(request: HttpRequest, client_id: Id, payload: ConsentIn) -> Any:
    caller = principal(request)
    caller.require("consent.record")
    created = consent_service.sign(
        caller.user,
        client_id,
        payload.scope,
        signer_name=payload.signer_name,
        signature=payload.signature,
        ip_address=request.META.get("REMOTE_ADDR"),
        user_agent=request.headers.get("User-Agent", ""),
    )
    return Status(201, created)
