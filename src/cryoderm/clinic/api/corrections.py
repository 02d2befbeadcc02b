"""Corrections of outcomes, and the history of corrections of a client's or a device's
records. Each correction keeps the earlier value (records.services.corrections)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import AwareDatetime, Field

from cryoderm.clinic.api.auth import principal
from cryoderm.clinic.api.errors import ERRORS
from cryoderm.clinic.api.fields import (
    Body,
    Finite,
    Id,
    Label,
    Line,
    Note,
    reason_and_changes,
)
from cryoderm.clinic.api.outcomes import MeasureOut, ScoreOut
from cryoderm.clinic.records.services import corrections
from cryoderm.clinic.records.services import outcomes as outcome_service

router = Router(tags=["corrections"])


class CorrectionOut(Schema):
    target: str = Field(description="the record's kind, e.g. records.client")
    target_id: int
    changes: dict[str, dict[str, Any]] = Field(description='{"field": {"from": ..., "to": ...}}')
    reason: str
    corrected_by: str = Field(alias="corrected_by_label")
    corrected_at: dt.datetime


class ScorePatch(Body):
    reason: Note = Field(min_length=1, description="why the score is corrected (kept)")
    score: Finite | None = None
    rater: Literal["clinician", "client"] | None = None
    assessed_at: AwareDatetime | None = None
    notes: Note | None = None


class MeasurePatch(Body):
    reason: Note = Field(min_length=1, description="why the measure is corrected (kept)")
    value: Finite | None = None
    zone: Label | None = None
    instrument: Line | None = None
    measured_at: AwareDatetime | None = None


@router.patch(
    "/scores/{score_id}",
    response={200: ScoreOut, **ERRORS},
    summary="Correct a score (with a reason; the earlier value is kept)",
)
def correct_score(request: HttpRequest, score_id: Id, payload: ScorePatch) -> Any:
    caller = principal(request)
    caller.require("outcome.record")
    reason, fields = reason_and_changes(payload)
    return outcome_service.correct_score(caller.user, score_id, reason=reason, **fields)


@router.patch(
    "/measures/{measure_id}",
    response={200: MeasureOut, **ERRORS},
    summary="Correct an instrumental measure (with a reason; the earlier value is kept)",
)
def correct_measure(request: HttpRequest, measure_id: Id, payload: MeasurePatch) -> Any:
    caller = principal(request)
    caller.require("outcome.record")
    reason, fields = reason_and_changes(payload)
    return outcome_service.correct_measure(caller.user, measure_id, reason=reason, **fields)


@router.get(
    "/clients/{client_id}/corrections",
    response={200: list[CorrectionOut], **ERRORS},
    summary="Corrections of a client's record (and, for clinical roles, of their outcomes "
    "and consents), oldest first; audited",
)
def client_history(request: HttpRequest, client_id: Id) -> Any:
    caller = principal(request)
    caller.require("client.view")
    return corrections.for_client(caller.audit_actor, client_id)


@router.get(
    "/devices/{device_id}/corrections",
    response={200: list[CorrectionOut], **ERRORS},
    summary="Corrections of a device's record and its calibrations, oldest first",
)
def device_history(request: HttpRequest, device_id: Id) -> Any:
    caller = principal(request)
    caller.require("device.view")
    return corrections.for_device(caller.audit_actor, device_id)
