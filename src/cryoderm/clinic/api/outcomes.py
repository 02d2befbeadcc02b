"""Outcomes of a client: clinician and client-reported scores, instrumental measures with
units, and consents (the scopes that gate treatment and photographs)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from cryoderm.clinic.api.auth import principal
from cryoderm.clinic.api.errors import ERRORS
from cryoderm.clinic.api.fields import Body, Finite, Id, Label, Line, Note, Signature, Unit
from cryoderm.clinic.records.services import consent as consent_service
from cryoderm.clinic.records.services import outcomes as outcome_service

router = Router(tags=["outcomes"])

Quantity = Literal["erythema-index", "elasticity", "hydration", "tewl"]


class ScoreIn(Body):
    rater: Literal["clinician", "client"]
    scale: Label = Field(
        description="one of the clinic's scales: "
        + "; ".join(
            f"{s.id} ({s.label}, {s.min}-{s.max})" for s in outcome_service.scales().values()
        )
    )
    score: Finite = Field(description="a whole number of the scale's points")
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


class MeasureIn(Body):
    quantity: Quantity
    value: Finite
    unit: Unit = Field(
        description="; ".join(
            f"{m.quantity}: {m.unit}, {m.min:g} to {m.max:g}"
            for m in outcome_service.measures().values()
        )
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


class ConsentIn(Body):
    scope: Literal["treatment", "photos", "marketing"]
    signer_name: Label
    signature: Signature = Field(
        description="the drawn strokes as an SVG path in the pad's pixels (M x y L x y ..., "
        "one M per stroke); a tap or a short line is refused"
    )


class ConsentOut(Schema):
    id: int
    scope: str
    text_id: int
    text_sha256: str
    signer_name: str
    signed_at: dt.datetime
    withdrawn_at: dt.datetime | None
    withdrawal_reason: str
    entered_in_error_at: dt.datetime | None


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
    found = outcome_service.for_client(caller.audit_actor, client_id)
    return OutcomesOut(scores=found.scores, measures=found.measures)


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
