"""Treatment sessions: plan, start through the gates, readings, alarms, events, end."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from cryoderm.clinic import audit

from .. import gates
from ..errors import Conflict, InvalidRecord
from ..models import (
    Alarm,
    Appointment,
    Client,
    Device,
    Practitioner,
    SessionEvent,
    TreatmentSession,
)
from ._common import (
    authorize,
    load,
    now_or,
    require_finite,
    require_text,
    require_zone,
    user_or_none,
)


def _practitioner_of(actor: Any, practitioner_id: object | None) -> Practitioner:
    if practitioner_id is not None:
        return load(Practitioner, practitioner_id)
    own = Practitioner.objects.filter(user_id=getattr(actor, "pk", None)).first()
    if own is None:
        raise InvalidRecord("practitioner_id", "you have no practitioner record: name one")
    return own


def _appointment_for(
    appointment_id: object | None, client: Client, practitioner: Practitioner, device: Device
) -> Appointment | None:
    """The booked appointment the session takes place in, which must be this client's, with
    this practitioner and device: a session filed under another client's appointment would
    complete that client's booking and mix two records."""
    if appointment_id is None:
        return None
    appointment = load(Appointment, appointment_id)
    for field, booked, given in (
        ("client", appointment.client_id, client.pk),
        ("practitioner", appointment.practitioner_id, practitioner.pk),
        ("device", appointment.device_id, device.pk),
    ):
        if booked != given:
            raise InvalidRecord(
                "appointment_id",
                f"appointment {appointment.pk} is booked for another {field} "
                f"({field} {booked}, not {given})",
            )
    if appointment.status != Appointment.Status.BOOKED:
        raise Conflict(
            f"appointment {appointment.pk} is {appointment.get_status_display().lower()}, "
            "not booked",
            "appointment_id",
        )
    return appointment


@transaction.atomic
def create(
    actor: Any,
    *,
    client_id: object,
    device_id: object,
    zones: Iterable[str],
    practitioner_id: object | None = None,
    appointment_id: object | None = None,
    notes: str = "",
) -> TreatmentSession:
    """A planned session without a plan yet (planning.plan_session makes both at once);
    ``practitioner_id`` defaults to the actor's own record. Nothing is checked against the
    gates until it starts; only its practitioner of record may start it."""
    authorize(actor, "session.create")
    zone_list = [require_zone(f"zones[{i}]", z) for i, z in enumerate(zones)]
    if not zone_list:
        raise InvalidRecord("zones", "name at least one face zone")
    if len(set(zone_list)) != len(zone_list):
        raise InvalidRecord("zones", "name each zone once")
    client = load(Client, client_id)
    practitioner = _practitioner_of(actor, practitioner_id)
    device = load(Device, device_id)
    session = TreatmentSession.objects.create(
        client=client,
        practitioner=practitioner,
        device=device,
        appointment=_appointment_for(appointment_id, client, practitioner, device),
        zones=zone_list,
        notes=notes,
    )
    audit.record(actor, "session.create", session, {"client": session.client_id})
    return session


@transaction.atomic
def check_gates(actor: Any, session_id: object, at: dt.datetime | None = None) -> gates.Evaluation:
    """Every gate's state for the session if ``actor`` started it now (read-only; for a
    checklist)."""
    authorize(actor, "session.view")
    session = load(TreatmentSession, session_id)
    moment = now_or(at)
    evaluation = gates.evaluate(session, timezone.localdate(moment), actor, moment)
    audit.record(
        actor,
        "session.gates",
        session,
        {"client": session.client_id, "closed": [gate.name for gate in evaluation.closed]},
    )
    return evaluation


@transaction.atomic
def start(actor: Any, session_id: object, *, at: dt.datetime | None = None) -> TreatmentSession:
    """Start the session if every gate is open; else raise gates.GatesClosed (nothing written).

    ``actor`` must be the session's practitioner of record (a gate), qualified on the day."""
    authorize(actor, "session.start")
    session = load(TreatmentSession, session_id, lock=True)
    if session.status != TreatmentSession.Status.PLANNED:
        raise Conflict(f"session {session.pk} is {session.status}, not planned", "status")
    # The client's row is locked too: two of the client's sessions started at the same
    # moment are decided one after the other, so the second sees the first in progress
    # (interval-since-last) instead of both passing the gate at once.
    load(Client, session.client_id, lock=True)
    started_at = now_or(at)
    evaluation = gates.require_open(session, timezone.localdate(started_at), actor, started_at)
    session.screening = evaluation.screening
    session.consent = evaluation.consent
    session.status = TreatmentSession.Status.IN_PROGRESS
    session.started_at = started_at
    session.save(update_fields=["screening", "consent", "status", "started_at"])
    SessionEvent.objects.create(
        session=session,
        occurred_at=started_at,
        kind=SessionEvent.Kind.STARTED,
        actor=user_or_none(actor),
    )
    Device.objects.filter(pk=session.device_id).update(sessions_count=F("sessions_count") + 1)
    audit.record(
        actor,
        "session.start",
        session,
        {"client": session.client_id, "gates": [g.name for g in evaluation.gates]},
    )
    return session


@transaction.atomic
def finish(
    actor: Any,
    session_id: object,
    *,
    exposure_s: float,
    aborted: bool = False,
    reason: str = "",
    at: dt.datetime | None = None,
) -> TreatmentSession:
    """End an in-progress session (completed, or aborted with a reason); count the exposure."""
    authorize(actor, "session.stop")
    session = load(TreatmentSession, session_id, lock=True)
    if session.status != TreatmentSession.Status.IN_PROGRESS:
        raise Conflict(f"session {session.pk} is {session.status}, not in progress", "status")
    exposure = require_finite("exposure_s", exposure_s, "s")
    if exposure < 0:
        raise InvalidRecord("exposure_s", f"{exposure} s is negative")
    if aborted:
        reason = require_text("reason", reason)
    ended_at = now_or(at)
    kind = SessionEvent.Kind.ABORTED if aborted else SessionEvent.Kind.COMPLETED
    session.status = (
        TreatmentSession.Status.ABORTED if aborted else TreatmentSession.Status.COMPLETED
    )
    session.ended_at = ended_at
    session.exposure_s = exposure
    session.end_reason = reason
    session.save(update_fields=["status", "ended_at", "exposure_s", "end_reason"])
    SessionEvent.objects.create(
        session=session,
        occurred_at=ended_at,
        kind=kind,
        message=reason,
        actor=user_or_none(actor),
    )
    Device.objects.filter(pk=session.device_id).update(
        exposure_s_total=F("exposure_s_total") + exposure
    )
    if session.appointment_id is not None:
        Appointment.objects.filter(pk=session.appointment_id).update(
            status=Appointment.Status.COMPLETED
        )
    audit.record(
        actor, f"session.{kind}", session, {"client": session.client_id, "exposure_s": exposure}
    )
    return session


def _running(session_id: object) -> TreatmentSession:
    """The session, which must be in progress: alarms and events are what happens during
    it, never added to a planned, cancelled or finished record afterwards."""
    session = load(TreatmentSession, session_id)
    if session.status != TreatmentSession.Status.IN_PROGRESS:
        raise Conflict(
            f"session {session.pk} is {session.get_status_display().lower()}, not in "
            "progress: its record is closed",
            "status",
        )
    return session


@transaction.atomic
def raise_alarm(
    actor: Any,
    session_id: object,
    *,
    code: str,
    severity: str,
    message: str,
    zone: str = "",
    sensor: str = "",
    value_c: float | None = None,
    limit_c: float | None = None,
    at: dt.datetime | None = None,
) -> Alarm:
    authorize(actor, "session.stop")
    session = _running(session_id)
    if severity not in Alarm.Severity.values:
        raise InvalidRecord(
            "severity", f"{severity!r} is not one of {', '.join(Alarm.Severity.values)}"
        )
    alarm = Alarm.objects.create(
        session=session,
        raised_at=now_or(at),
        code=require_text("code", code),
        severity=severity,
        message=require_text("message", message),
        zone=require_zone("zone", zone) if zone else "",
        sensor=sensor,
        value_c=require_finite("value_c", value_c, "°C") if value_c is not None else None,
        limit_c=require_finite("limit_c", limit_c, "°C") if limit_c is not None else None,
    )
    audit.record(
        actor, "session.alarm", session, {"alarm": alarm.pk, "code": code, "severity": severity}
    )
    return alarm


@transaction.atomic
def acknowledge_alarm(actor: Any, alarm_id: object, *, at: dt.datetime | None = None) -> Alarm:
    authorize(actor, "session.stop")
    alarm = load(Alarm, alarm_id, lock=True)
    if alarm.acknowledged_at is not None:
        raise Conflict(f"alarm {alarm.pk} was already acknowledged", "acknowledged_at")
    alarm.acknowledged_at = now_or(at)
    alarm.acknowledged_by = actor
    alarm.save(update_fields=["acknowledged_at", "acknowledged_by"])
    audit.record(actor, "session.alarm_ack", alarm.session, {"alarm": alarm.pk})
    return alarm


@transaction.atomic
def add_event(
    actor: Any,
    session_id: object,
    *,
    kind: str,
    message: str = "",
    data: Mapping[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> SessionEvent:
    authorize(actor, "session.stop")
    session = _running(session_id)
    if kind not in SessionEvent.Kind.values:
        raise InvalidRecord("kind", f"{kind!r} is not one of {', '.join(SessionEvent.Kind.values)}")
    event = SessionEvent.objects.create(
        session=session,
        occurred_at=now_or(at),
        kind=kind,
        message=message,
        data=dict(data or {}),
        actor=user_or_none(actor),
    )
    audit.record(actor, "session.event", session, {"event": event.pk, "kind": kind})
    return event


@transaction.atomic
def get(actor: Any, session_id: object, *, for_report: bool = False) -> TreatmentSession:
    """One session, recording that ``actor`` read it (a read of client data); a read for
    the PDF report, which shows the readings too, is recorded as ``session.report``."""
    authorize(actor, "session.view")
    if for_report:
        authorize(actor, "reading.view")
    session = load(TreatmentSession, session_id)
    action = "session.report" if for_report else "session.read"
    audit.record(actor, action, session, {"client": session.client_id})
    return session
