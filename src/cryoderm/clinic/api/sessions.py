"""Treatment sessions: create, check the gates, start (through the gates), stop, read, and
the skin-temperature readings (batched ingest by device token; audited reads)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import AwareDatetime, Field

from cryoderm.clinic.api.auth import INGEST, principal
from cryoderm.clinic.api.errors import ERRORS
from cryoderm.clinic.api.fields import Body, Finite, Id, Label, Note, Sensor
from cryoderm.clinic.records.models import TreatmentSession
from cryoderm.clinic.records.services import _common, planning, readings
from cryoderm.clinic.records.services import sessions as session_service

router = Router(tags=["sessions"])

# The schema states the readings service's limits, so that the OpenAPI schema shows them.
VALID_MIN_C = readings.VALID_MIN_C
VALID_MAX_C = readings.VALID_MAX_C
MAX_ELAPSED_S = readings.MAX_ELAPSED_S


class SessionIn(Body):
    client_id: Id
    device_id: Id
    zones: list[Label] = Field(min_length=1, max_length=20)
    goals: list[Label] | None = Field(
        None,
        min_length=1,
        max_length=10,
        description="plan the session now for these goals (else POST /api/plans later)",
    )
    practitioner_id: Id | None = Field(None, description="default: the caller's own record")
    appointment_id: Id | None = None
    notes: Note = ""


class SessionOut(Schema):
    id: int
    client_id: int
    practitioner_id: int
    device_id: int
    appointment_id: int | None
    zones: list[str]
    status: str
    plan: dict[str, Any] | None
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    exposure_s: float
    end_reason: str
    notes: str
    created_at: dt.datetime


class GateOut(Schema):
    name: str
    is_open: bool
    detail: str
    how_to_clear: str


class StopIn(Body):
    exposure_s: Finite = Field(ge=0, le=MAX_ELAPSED_S, description="cold exposure delivered [s]")
    aborted: bool = False
    reason: Note = Field("", description="required when aborted")


class ReadingIn(Body):
    zone: Label
    sensor: Sensor
    elapsed_s: Finite = Field(ge=0, le=MAX_ELAPSED_S, description="since the start [s]")
    skin_temp_c: Finite = Field(
        ge=VALID_MIN_C, le=VALID_MAX_C, description="skin surface temperature [°C]"
    )
    recorded_at: AwareDatetime | None = Field(None, description="default: start + elapsed_s")


class ReadingBatchIn(Body):
    readings: list[ReadingIn] = Field(min_length=1, max_length=readings.MAX_BATCH)


class IngestOut(Schema):
    accepted: int
    duplicates: int


class ReadingOut(Schema):
    zone: str
    sensor: str
    recorded_at: dt.datetime
    elapsed_s: float
    skin_temp_c: float


class ReadingQuery(Schema):
    zone: Label | None = None
    sensor: Label | None = None
    after_elapsed_s: Finite = Field(-1.0, ge=-1, le=MAX_ELAPSED_S)
    limit: int = Field(1000, ge=1, le=10_000)


@router.post("", response={201: SessionOut, **ERRORS}, summary="Plan a session")
def create(request: HttpRequest, payload: SessionIn) -> Any:
    caller = principal(request)
    caller.require("session.create")
    fields = {
        "client_id": payload.client_id,
        "device_id": payload.device_id,
        "zones": payload.zones,
        "practitioner_id": payload.practitioner_id,
        "appointment_id": payload.appointment_id,
        "notes": payload.notes,
    }
    if payload.goals is None:
        return Status(201, session_service.create(caller.user, **fields))
    return Status(201, planning.plan_session(caller.user, goals=payload.goals, **fields))


@router.get("/{session_id}", response={200: SessionOut, **ERRORS}, summary="Read a session")
def get(request: HttpRequest, session_id: Id) -> Any:
    caller = principal(request)
    caller.require("session.view")
    return session_service.get(caller.audit_actor, session_id)


@router.get(
    "/{session_id}/gates",
    response={200: list[GateOut], **ERRORS},
    summary="Every gate of the session, open or closed, with how to clear it",
)
def gates(request: HttpRequest, session_id: Id) -> Any:
    caller = principal(request)
    caller.require("session.view")
    evaluation = session_service.check_gates(caller.user, session_id)
    return list(evaluation.gates)


@router.post(
    "/{session_id}/start",
    response={200: SessionOut, **ERRORS},
    summary="Start the session; 409 naming each closed gate",
)
def start(request: HttpRequest, session_id: Id) -> Any:
    caller = principal(request)
    caller.require("session.start")
    return session_service.start(caller.user, session_id)


@router.post("/{session_id}/stop", response={200: SessionOut, **ERRORS}, summary="End the session")
def stop(request: HttpRequest, session_id: Id, payload: StopIn) -> Any:
    caller = principal(request)
    caller.require("session.stop")
    return session_service.finish(
        caller.user,
        session_id,
        exposure_s=payload.exposure_s,
        aborted=payload.aborted,
        reason=payload.reason,
    )


@router.post(
    "/{session_id}/readings",
    response={200: IngestOut, **ERRORS},
    summary="Ingest a batch of readings (device token of the session's device; idempotent)",
)
def ingest_readings(request: HttpRequest, session_id: Id, payload: ReadingBatchIn) -> Any:
    caller = principal(request)
    if not caller.is_device:
        # A person: a session that does not exist is reported first (404), then the refusal.
        _common.load(TreatmentSession, session_id)
        caller.require(INGEST)

    def in_scope(session: TreatmentSession) -> None:
        # A device token's scope (its own device's sessions), checked on the session that the
        # service locks and reads with its device anyway: no query of its own per batch.
        caller.require(INGEST, device_id=session.device_id)

    result = readings.ingest(
        caller.audit_actor,
        session_id,
        [reading.dict() for reading in payload.readings],
        check_session=in_scope if caller.is_device else None,
    )
    return IngestOut(accepted=result.accepted, duplicates=result.duplicates)


@router.get(
    "/{session_id}/readings",
    response={200: list[ReadingOut], **ERRORS},
    summary="A session's readings in time order (audited)",
)
def series(request: HttpRequest, session_id: Id, filters: Query[ReadingQuery]) -> Any:
    caller = principal(request)
    caller.require("reading.view")
    return readings.series(
        caller.audit_actor,
        session_id,
        zone=filters.zone,
        sensor=filters.sensor,
        after_elapsed_s=filters.after_elapsed_s,
        limit=filters.limit,
    )
