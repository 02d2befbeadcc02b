"""Live control of a session over the API, zone by zone: the same service as the live page
(:mod:`cryoderm.clinic.records.services.live_control`).

A command answers once the interlock has taken it (``applied``) or, if it has not within a
few seconds, ``pending`` with the reason (the interlock may be down: its devices stop by
themselves); a command the interlock refuses is 409 with its reason. The zones' states
follow the interlock's journal within a second (``GET .../zones``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from cryoderm.clinic.api.auth import principal
from cryoderm.clinic.api.errors import ERRORS
from cryoderm.clinic.api.fields import Body, Id, Label, text
from cryoderm.clinic.records.models import SessionZone, TreatmentSession
from cryoderm.clinic.records.services import live_control
from cryoderm.clinic.records.services._common import load

router = Router(tags=["live control"])

Reason = text(live_control.MAX_REASON, 1)


class SentOut(Schema):
    status: str = Field(description="applied, or pending: not taken by the interlock yet")
    message: str


class StartIn(Body):
    fault: Label = Field("none", description="a simulated device's fault (ignored by a real one)")


class StopIn(Body):
    reason: text(live_control.MAX_REASON) = ""  # type: ignore[valid-type]


class ReasonIn(Body):
    reason: Reason  # type: ignore[valid-type]


class ZoneOut(Schema):
    zone: str
    position: int
    status: str
    stop_reason: str
    exposure_s: float
    reason: str
    started_at: dt.datetime | None
    ended_at: dt.datetime | None


class SessionStateOut(Schema):
    id: int
    status: str
    end_reason: str


def _sent(value: live_control.Sent) -> dict[str, str]:
    return {"status": value.status, "message": value.message}


@router.get(
    "/{session_id}/zones",
    response={200: list[ZoneOut], **ERRORS},
    summary="Each zone's state, as forwarded from the interlock's journal",
)
def zones(request: HttpRequest, session_id: Id) -> Any:
    principal(request).require("session.view")
    session = load(TreatmentSession, session_id)
    runs = {run.zone: run for run in SessionZone.objects.filter(session=session)}
    return [
        runs.get(zone) or SessionZone(session=session, zone=zone, position=index)
        for index, zone in enumerate(session.zones)
    ]


def _user(request: HttpRequest, action: str) -> Any:
    """The acting user, once the caller may do ``action`` as this caller (a user's API
    token may not start the cold: accounts.permissions.PRESENCE_REQUIRED); the service
    checks the role and every rule again."""
    caller = principal(request)
    caller.require(action)
    return caller.user


@router.post(
    "/{session_id}/zones/{zone}/start",
    response={200: SentOut, **ERRORS},
    summary="Start the cold on a zone (gates checked for the caller)",
)
def start_zone(request: HttpRequest, session_id: Id, zone: Label, payload: StartIn) -> Any:  # type: ignore[valid-type]
    return _sent(
        live_control.start_zone(
            _user(request, "session.start"), session_id, zone, fault=payload.fault
        )
    )


@router.post(
    "/{session_id}/zones/{zone}/stop",
    response={200: SentOut, **ERRORS},
    summary="STOP: the cold goes off now",
)
def stop_zone(request: HttpRequest, session_id: Id, zone: Label, payload: StopIn) -> Any:  # type: ignore[valid-type]
    return _sent(
        live_control.stop_zone(_user(request, "session.stop"), session_id, zone, payload.reason)
    )


@router.post("/{session_id}/zones/{zone}/pause", response={200: SentOut, **ERRORS})
def pause_zone(request: HttpRequest, session_id: Id, zone: Label) -> Any:  # type: ignore[valid-type]
    return _sent(live_control.pause_zone(_user(request, "session.stop"), session_id, zone))


@router.post(
    "/{session_id}/zones/{zone}/resume",
    response={200: SentOut, **ERRORS},
    summary="Resume after a pause",
)
def resume_zone(request: HttpRequest, session_id: Id, zone: Label) -> Any:  # type: ignore[valid-type]
    return _sent(live_control.resume_zone(_user(request, "session.stop"), session_id, zone))


@router.post(
    "/{session_id}/zones/{zone}/resume-after-stop",
    response={200: SentOut, **ERRORS},
    summary="Resume a stopped zone, with a reason",
)
def resume_after_stop(
    request: HttpRequest,
    session_id: Id,
    zone: Label,  # type: ignore[valid-type]
    payload: ReasonIn,
) -> Any:
    return _sent(
        live_control.resume_after_stop(
            _user(request, "session.start"), session_id, zone, payload.reason
        )
    )


@router.post(
    "/{session_id}/zones/{zone}/end",
    response={200: SentOut, **ERRORS},
    summary="Close a zone with a reason (go to the next)",
)
def end_zone(request: HttpRequest, session_id: Id, zone: Label, payload: ReasonIn) -> Any:  # type: ignore[valid-type]
    return _sent(
        live_control.end_zone(_user(request, "session.stop"), session_id, zone, payload.reason)
    )


@router.post(
    "/{session_id}/zones/{zone}/alarms/{alarm_id}/acknowledge",
    response={200: SentOut, **ERRORS},
)
def acknowledge(request: HttpRequest, session_id: Id, zone: Label, alarm_id: Label) -> Any:  # type: ignore[valid-type]
    return _sent(
        live_control.acknowledge(_user(request, "session.stop"), session_id, zone, alarm_id)
    )


@router.post(
    "/{session_id}/end",
    response={200: SessionStateOut, **ERRORS},
    summary="End the session now, with a reason",
)
def end_session(request: HttpRequest, session_id: Id, payload: ReasonIn) -> Any:
    return live_control.end_session(_user(request, "session.stop"), session_id, payload.reason)


@router.post(
    "/{session_id}/cancel",
    response={200: SessionStateOut, **ERRORS},
    summary="Cancel a planned session that never started, with a reason",
)
def cancel(request: HttpRequest, session_id: Id, payload: ReasonIn) -> Any:
    return live_control.cancel(_user(request, "session.create"), session_id, payload.reason)
