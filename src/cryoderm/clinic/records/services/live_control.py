"""Live control of a treatment session, zone by zone: the one way to start, stop, pause,
resume or end a zone, end a session, or cancel one that never started.

Each function takes the acting user, checks the permission and the session's state, sends
the command through the interlock's control channel (``cryoderm.interlock.ControlClient``;
the interlock runs in a process of its own) and writes the record and its audit entry in
one short transaction. STOP is sent before anything else is done, and its record is written
after: the cold goes off whatever the database does. The interlock's journal is the truth
about the cold; the forwarder mirrors it into the zone's state (``SessionZone``), so what
these functions write is the practitioner's request and reason, not the zone's new state.

States of a zone (docs/web.md): pending -> starting -> running <-> paused; running ->
stopped (a rule or STOP) -> running again (:func:`resume_after_stop`, with a reason) or
ended (:func:`end_zone`, with a reason: "go to the next zone"); completed when its planned
cold was delivered. The session ends when every zone is completed or ended (the forwarder),
or when the practitioner ends it (:func:`end_session`, with a reason).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, transaction
from django.utils import timezone

from cryoderm.clinic import audit
from cryoderm.clinic.live import channel
from cryoderm.clinic.live.forward import PLANNED_ENDS, LiveId
from cryoderm.data.labels import label, label_list
from cryoderm.interlock import ControlClient, PlannedCurve
from cryoderm.interlock.faults import FAULT_KINDS
from cryoderm.interlock.journal import entries_of

from .. import gates
from ..errors import Conflict, InvalidRecord
from ..models import SessionEvent, SessionZone, TreatmentSession
from . import planning
from . import sessions as session_service
from ._common import authorize, load, require_text, user_or_none

log = logging.getLogger(__name__)

#: assumption: the interlock takes commands every 50 ms loop tick; a command not taken
#: within 2 s means the interlock is not running (its devices then stop on their own when
#: its heartbeat stops), which the practitioner must be told at once.
COMMAND_WAIT_S = 2.0
#: assumption: a start on the embedded source plans the zone first (about a second on an
#: idle machine); 5 s covers a busy one, after which the page shows it as starting.
START_WAIT_S = 5.0
MAX_REASON = 500


@dataclass(frozen=True)
class Sent:
    """What became of a command: ``applied`` or ``pending`` (not yet taken: the interlock
    may be down), with words for the practitioner. A rejected command raises Conflict."""

    status: str
    message: str


def _client() -> ControlClient:
    return channel.control()


def _reason(value: Any) -> str:
    text = require_text("reason", value)
    if len(text) > MAX_REASON:
        raise InvalidRecord("reason", f"{len(text)} characters; at most {MAX_REASON}")
    return text


def _in_progress(session_id: object) -> TreatmentSession:
    session = load(TreatmentSession, session_id)
    if session.status != TreatmentSession.Status.IN_PROGRESS:
        raise Conflict(
            f"session {session.pk} is {session.get_status_display().lower()}, not in progress",
            "status",
        )
    return session


def _zone(session: TreatmentSession, zone: str) -> SessionZone:
    if zone not in session.zones:
        raise InvalidRecord(
            "zone", f"{zone!r} is not one of this session's zones ({', '.join(session.zones)})"
        )
    run, _ = SessionZone.objects.get_or_create(
        session=session, zone=zone, defaults={"position": session.zones.index(zone)}
    )
    return run


def _await(command_id: int, wait_s: float, what: str) -> Sent:
    outcome = _client().outcome(command_id, timeout_s=wait_s)
    if outcome.status == "rejected":
        raise Conflict(f"the interlock refused to {what}: {outcome.error}", "interlock")
    if outcome.status == "pending":
        health = channel.health()
        why = "" if health.alive else f" ({health.why})"
        return Sent(
            "pending",
            f"the interlock has not taken the command to {what} yet{why}; a device that "
            "hears no interlock stops by itself",
        )
    return Sent("applied", f"the interlock did: {what}")


def _record(
    actor: Any,
    session: TreatmentSession,
    action: str,
    message: str,
    detail: dict[str, Any],
    kind: str = SessionEvent.Kind.NOTE,
    zone_update: Callable[[], None] | None = None,
) -> None:
    with transaction.atomic():
        if zone_update is not None:
            zone_update()
        SessionEvent.objects.create(
            session=session,
            occurred_at=timezone.now(),
            kind=kind,
            message=message,
            data=detail,
            actor=user_or_none(actor),
        )
        audit.record(actor, action, session, detail)


def _label(actor: Any) -> str:
    return str(actor.get_username() if hasattr(actor, "get_username") else actor)


def start_zone(actor: Any, session_id: object, zone: str, *, fault: str = "none") -> Sent:
    """Start the cold on ``zone``: the gates hold today for this user (the practitioner of
    record, qualified, device maintained, consent and screening current), the zone has not
    started, and no other zone of the session has its cold on. ``fault``: a simulated
    device's fault (cryoderm.interlock.faults), ignored by a real device."""
    authorize(actor, "session.start")
    session = _in_progress(session_id)
    run = _zone(session, zone)
    if run.status != SessionZone.Status.PENDING:
        raise Conflict(f"{zone} is {run.get_status_display().lower()}: it was started already")
    busy = SessionZone.objects.filter(session=session, status__in=SessionZone.COLD_ON).first()
    if busy is not None:
        raise Conflict(
            f"{busy.zone} is {busy.get_status_display().lower()}: stop or end it first", "zone"
        )
    if fault not in FAULT_KINDS:
        raise InvalidRecord("fault", f"{fault!r} is not one of {', '.join(FAULT_KINDS)}")
    gates.require_open(session, timezone.localdate(), actor)
    # The plan's step, checked to be the session's own, and the device's modality.
    guard = planning.zone_guard(session, zone)
    step = guard.step
    duration_s = step.duration_s
    pairs = [
        (t, c)
        for t, c in zip(step.prediction.time_s, step.prediction.surface_c, strict=False)
        if math.isfinite(c) and t <= duration_s + 1e-9
    ]
    command = _client().start(
        str(LiveId(session.pk, zone)),
        session.device.serial_number,
        zone,
        guard.modality,
        planned_duration_s=duration_s,
        planned_curve=PlannedCurve(tuple(t for t, _ in pairs), tuple(c for _, c in pairs))
        if len(pairs) >= 2
        else None,
        goal=step.goals[0] if step.goals else None,
        fault=None if fault == "none" else fault,
    )
    sent = _await(command, START_WAIT_S, f"start {zone}")

    def starting() -> None:
        SessionZone.objects.filter(pk=run.pk, status=SessionZone.Status.PENDING).update(
            status=SessionZone.Status.STARTING
        )

    _record(
        actor,
        session,
        "session.zone_start",
        f"{_label(actor)} started {label('zone', zone)}"
        + (f" (simulated fault: {label('fault', fault)})" if fault != "none" else ""),
        {"zone": zone, "fault": fault, "command": command, "interlock": sent.status},
        zone_update=starting,
    )
    return sent


def stop_zone(actor: Any, session_id: object, zone: str, reason: str = "") -> Sent:
    """STOP: the cold goes off now. The command is sent before anything is recorded, and a
    database that cannot record it does not hold it back (the journal keeps who stopped)."""
    authorize(actor, "session.stop")
    session = load(TreatmentSession, session_id)
    if zone not in session.zones:
        raise InvalidRecord("zone", f"{zone!r} is not one of this session's zones")
    command = _client().stop(str(LiveId(session.pk, zone)), _label(actor), reason or None)
    sent = _await(command, COMMAND_WAIT_S, f"stop {zone}")
    try:
        _record(
            actor,
            session,
            "session.zone_stop",
            f"{_label(actor)} pressed STOP on {label('zone', zone)}"
            + (f": {reason}" if reason else ""),
            {"zone": zone, "reason": reason, "command": command, "interlock": sent.status},
            kind=SessionEvent.Kind.STOPPED,
        )
    except DatabaseError:
        log.exception(
            "STOP on %s of session %s sent; its record waits for the database", zone, session.pk
        )
    return sent


def _operate(
    actor: Any, session_id: object, zone: str, action: str, send: Callable[[str, str], int]
) -> Sent:
    authorize(actor, "session.stop")
    session = _in_progress(session_id)
    _zone(session, zone)
    command = send(str(LiveId(session.pk, zone)), _label(actor))
    sent = _await(command, COMMAND_WAIT_S, f"{action} {zone}")
    _record(
        actor,
        session,
        f"session.zone_{action}",
        f"{_label(actor)}: {action} {zone}",
        {"zone": zone, "command": command, "interlock": sent.status},
    )
    return sent


def pause_zone(actor: Any, session_id: object, zone: str) -> Sent:
    return _operate(actor, session_id, zone, "pause", lambda s, u: _client().pause(s, u))


def resume_zone(actor: Any, session_id: object, zone: str) -> Sent:
    """Resume after a pause (an override is recorded if alarms are unacknowledged)."""
    return _operate(actor, session_id, zone, "resume", lambda s, u: _client().resume(s, u))


def acknowledge(actor: Any, session_id: object, zone: str, alarm_id: str) -> Sent:
    alarm = require_text("alarm_id", alarm_id)
    return _operate(
        actor, session_id, zone, "acknowledge", lambda s, u: _client().acknowledge(s, alarm, u)
    )


def resume_after_stop(actor: Any, session_id: object, zone: str, reason: str) -> Sent:
    """Resume a stopped zone, with a reason: by the practitioner of record, qualified today
    (the gates), and only as the interlock allows (every stop alarm acknowledged, exposure
    left, the skin rewarmed above the warning temperature)."""
    authorize(actor, "session.start")
    why = _reason(reason)
    session = _in_progress(session_id)
    run = _zone(session, zone)
    if run.status != SessionZone.Status.STOPPED:
        raise Conflict(f"{zone} is {run.get_status_display().lower()}, not stopped", "zone")
    gates.require_open(session, timezone.localdate(), actor)
    command = _client().resume_after_stop(str(LiveId(session.pk, zone)), _label(actor), why)
    sent = _await(command, COMMAND_WAIT_S, f"resume {zone}")

    def note() -> None:
        SessionZone.objects.filter(pk=run.pk).update(reason=why)

    _record(
        actor,
        session,
        "session.zone_resume_after_stop",
        f"{_label(actor)} resumed {label('zone', zone)} after its stop "
        f"({label('stop-reason', run.stop_reason)}): {why}",
        {"zone": zone, "reason": why, "stop_reason": run.stop_reason, "command": command},
        kind=SessionEvent.Kind.RESUMED,
        zone_update=note,
    )
    return sent


def end_zone(actor: Any, session_id: object, zone: str, reason: str) -> Sent:
    """Close a zone for good with a reason ("go to the next zone"): a stopped zone, or one
    not started (it will not be treated). A zone with its cold on is stopped first."""
    authorize(actor, "session.stop")
    why = _reason(reason)
    session = _in_progress(session_id)
    run = _zone(session, zone)
    if run.status in (SessionZone.Status.COMPLETED, SessionZone.Status.ENDED):
        raise Conflict(f"{zone} is {run.get_status_display().lower()} already", "zone")
    sent = Sent("applied", f"{zone} was not started: it is closed")
    command = None
    if run.status != SessionZone.Status.PENDING:
        command = _client().end(str(LiveId(session.pk, zone)), _label(actor), why)
        sent = _await(command, COMMAND_WAIT_S, f"end {zone}")

    def close() -> None:
        changes: dict[str, Any] = {"reason": f"{_label(actor)}: {why}"}
        if run.status == SessionZone.Status.PENDING:
            changes.update(status=SessionZone.Status.ENDED, ended_at=timezone.now())
        SessionZone.objects.filter(pk=run.pk).update(**changes)

    _record(
        actor,
        session,
        "session.zone_end",
        f"{_label(actor)} ended {label('zone', zone)}: {why}",
        {"zone": zone, "reason": why, "command": command},
        zone_update=close,
    )
    return sent


def end_session(actor: Any, session_id: object, reason: str) -> TreatmentSession:
    """The practitioner ends the session now, with a reason: every zone still open is ended
    in the interlock (its cold stopped first), and the session is recorded ``completed`` if
    every zone got its planned cold, else ``aborted`` naming what each zone got."""
    authorize(actor, "session.stop")
    why = _reason(reason)
    session = _in_progress(session_id)
    runs = {zone: _zone(session, zone) for zone in session.zones}
    journal = channel.journal()
    for zone, run in runs.items():
        if run.status in (SessionZone.Status.COMPLETED, SessionZone.Status.ENDED):
            continue
        if run.status != SessionZone.Status.PENDING:
            command = _client().end(str(LiveId(session.pk, zone)), _label(actor), why)
            _await(command, COMMAND_WAIT_S, f"end {zone}")
    # The journal, not the records (which follow it within a second), says what each zone got.
    exposure = {zone: run.exposure_s for zone, run in runs.items()}
    completed = {z for z, run in runs.items() if run.status == SessionZone.Status.COMPLETED}
    for zone in runs:
        closing = entries_of(journal, str(LiveId(session.pk, zone)), ("stop", "session-ended"))
        if closing:
            exposure[zone] = float(closing[-1].payload.get("exposure_s") or exposure[zone])
        stops = [e for e in closing if e.kind == "stop"]
        if stops and stops[-1].payload.get("reason") in PLANNED_ENDS:
            completed.add(zone)
    short = [zone for zone in runs if zone not in completed]
    with transaction.atomic():
        SessionZone.objects.filter(session=session, status=SessionZone.Status.PENDING).update(
            status=SessionZone.Status.ENDED, ended_at=timezone.now(), reason=why
        )
        return session_service.finish(
            actor,
            session.pk,
            exposure_s=sum(exposure.values()),
            aborted=bool(short),
            reason=f"ended by {_label(actor)}: {why}; not completed: {label_list('zone', short)}"
            if short
            else "",
        )


@transaction.atomic
def cancel(actor: Any, session_id: object, reason: str) -> TreatmentSession:
    """Cancel a planned session that never started, with a reason (kept, and audited)."""
    authorize(actor, "session.create")
    why = _reason(reason)
    session = load(TreatmentSession, session_id, lock=True)
    if session.status != TreatmentSession.Status.PLANNED:
        raise Conflict(
            f"session {session.pk} is {session.get_status_display().lower()}: only a planned "
            "session can be cancelled (end a session in progress instead)",
            "status",
        )
    now = timezone.now()
    session.status = TreatmentSession.Status.CANCELLED
    session.ended_at = now
    session.end_reason = why
    session.save(update_fields=["status", "ended_at", "end_reason"])
    SessionEvent.objects.create(
        session=session,
        occurred_at=now,
        kind=SessionEvent.Kind.CANCELLED,
        message=why,
        actor=user_or_none(actor),
    )
    audit.record(actor, "session.cancel", session, {"client": session.client_id, "reason": why})
    return session
