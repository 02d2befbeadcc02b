"""Copy the interlock's journal into the clinic's records, idempotently, in the background.

The journal is the truth about the cold; this mirrors it into the database for the session
record and the reports: readings, alarms, events (who stopped, paused, resumed, with the
journal's times), each zone's state (:class:`SessionZone`), and the session's end once every
zone of the plan is closed. It runs in the forwarder thread of ``cryoderm serve``
(:mod:`.forwarder`), never in a request: a page view writes nothing.

A journal entry is copied at most once whatever the number of passes or restarts: the
cursor (:class:`JournalCursor`) is kept in the database, and readings are keyed by
(session, zone, device, elapsed time), alarms by (session, condition, zone, raised time),
events by the journal seq kept in their data.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from cryoderm.clinic import audit
from cryoderm.clinic.records.errors import Conflict
from cryoderm.clinic.records.models import (
    Alarm,
    JournalCursor,
    SessionEvent,
    SessionZone,
    SkinReading,
    TreatmentSession,
)
from cryoderm.clinic.records.services import sessions as session_service
from cryoderm.data.labels import celsius, label
from cryoderm.interlock import Journal, JournalEntry

log = logging.getLogger(__name__)

#: The interlock's alarm priority -> the records' severity (a high-priority alarm is raised
#: with a stop; medium and low are warnings).
SEVERITY = {
    "high": Alarm.Severity.STOP,
    "medium": Alarm.Severity.WARNING,
    "low": Alarm.Severity.WARNING,
}
#: Stop reasons meaning the zone's planned cold was delivered (nothing is left to resume).
PLANNED_ENDS = ("plan-complete", "timer")
BATCH = 5000


@dataclass(frozen=True)
class LiveId:
    """The interlock's session id for one zone of one clinic session: ``c<pk>-<zone>``."""

    session_pk: int
    zone: str

    def __str__(self) -> str:
        return f"c{self.session_pk}-{self.zone}"

    @classmethod
    def parse(cls, text: str | None) -> LiveId | None:
        if not text or not text.startswith("c") or "-" not in text:
            return None
        pk, _, zone = text[1:].partition("-")
        return cls(int(pk), zone) if pk.isdigit() else None


def interlock_actor(session: TreatmentSession) -> str:
    """Who the records name for what the interlock did on its own."""
    return f"interlock:{session.device.serial_number}"


def _when(entry: JournalEntry) -> dt.datetime:
    return dt.datetime.fromtimestamp(entry.wall_time_s, tz=dt.UTC)


def _user(name: Any) -> Any:
    if not name:
        return None
    return get_user_model().objects.filter(username=name).first()


def cursor_key(journal_dir: Path) -> str:
    return str(journal_dir.resolve())


def forwarded_seq(journal_dir: Path) -> int:
    """The last journal seq the records hold (0 before the first pass)."""
    found = (
        JournalCursor.objects.filter(journal=cursor_key(journal_dir))
        .values_list("seq", flat=True)
        .first()
    )
    return int(found or 0)


def forward_new(journal: Journal) -> int:
    """Copy the journal's entries after the stored cursor (one batch); the number of entries
    read (0 when the records are up to date)."""
    cursor, _ = JournalCursor.objects.get_or_create(journal=cursor_key(journal.directory))
    if cursor.seq > journal.last_seq():
        # A new journal in the same directory (restored, or removed and started afresh).
        cursor.seq = 0
    entries = journal.read_after(cursor.seq, limit=BATCH)
    if not entries:
        return 0
    by_session: dict[int, list[tuple[str, JournalEntry]]] = defaultdict(list)
    for entry in entries:
        live = LiveId.parse(entry.session_id)
        if live is not None:
            by_session[live.session_pk].append((live.zone, entry))
    for pk, items in by_session.items():
        session = TreatmentSession.objects.select_related("device").filter(pk=pk).first()
        if session is None:
            log.warning("journal entries for clinic session %s, which does not exist", pk)
            continue
        apply_entries(session, items)
    JournalCursor.objects.filter(pk=cursor.pk).update(seq=entries[-1].seq)
    return len(entries)


@transaction.atomic
def apply_entries(session: TreatmentSession, items: Sequence[tuple[str, JournalEntry]]) -> None:
    """Copy one session's entries (zone, entry) and move its zones and the session on."""
    by_zone: dict[str, list[JournalEntry]] = defaultdict(list)
    for zone, entry in items:
        if zone in session.zones:
            by_zone[zone].append(entry)
    for zone, entries in by_zone.items():
        _copy(session, zone, entries)
        _move_zone(session, zone, entries)
    settle(session, at=_when(items[-1][1]))


def _zone_run(session: TreatmentSession, zone: str) -> SessionZone:
    run, _ = SessionZone.objects.get_or_create(
        session=session, zone=zone, defaults={"position": session.zones.index(zone)}
    )
    return run


def _move_zone(session: TreatmentSession, zone: str, entries: Iterable[JournalEntry]) -> None:
    run = _zone_run(session, zone)
    for entry in entries:
        payload = entry.payload
        if entry.kind == "session-started":
            run.status, run.started_at, run.stop_reason = (
                SessionZone.Status.RUNNING,
                _when(entry),
                "",
            )
        elif entry.kind == "pause":
            run.status = SessionZone.Status.PAUSED
        elif entry.kind in ("resume", "resume-after-stop"):
            run.status, run.stop_reason = SessionZone.Status.RUNNING, ""
        elif entry.kind == "stop":
            run.stop_reason = str(payload.get("reason") or "")[:40]
            run.exposure_s = float(payload.get("exposure_s") or run.exposure_s)
            if run.stop_reason in PLANNED_ENDS:
                run.status, run.ended_at = SessionZone.Status.COMPLETED, _when(entry)
            else:
                run.status = SessionZone.Status.STOPPED
        elif entry.kind == "session-ended":
            run.exposure_s = float(payload.get("exposure_s") or run.exposure_s)
            if run.status != SessionZone.Status.COMPLETED:
                run.status = SessionZone.Status.ENDED
                run.reason = run.reason or str(payload.get("reason") or "")
            run.ended_at = run.ended_at or _when(entry)
        elif (
            entry.kind == "command-rejected"
            and (payload.get("command") or {}).get("action") == "start"
            and run.status == SessionZone.Status.STARTING
        ):
            run.status = SessionZone.Status.PENDING
    run.save()


def settle(session: TreatmentSession, at: dt.datetime) -> None:
    """End an in-progress session once every zone of its plan is closed: ``completed`` when
    each got its planned cold, else ``aborted`` naming each zone's outcome."""
    if session.status != TreatmentSession.Status.IN_PROGRESS:
        return
    runs = {run.zone: run for run in SessionZone.objects.filter(session=session)}
    closed = (SessionZone.Status.COMPLETED, SessionZone.Status.ENDED)
    if any(zone not in runs or runs[zone].status not in closed for zone in session.zones):
        return
    short = [runs[z] for z in session.zones if runs[z].status == SessionZone.Status.ENDED]
    reason = "; ".join(
        f"{label('zone', run.zone)}: "
        f"{label('stop-reason', run.stop_reason) if run.stop_reason else 'not started'}; "
        f"ended: {run.reason or 'no reason'}"
        for run in short
    )
    # Conflict: the practitioner ended the session meanwhile (live_control.end_session).
    with contextlib.suppress(Conflict):
        session_service.finish(
            interlock_actor(session),
            session.pk,
            exposure_s=sum(run.exposure_s for run in runs.values()),
            aborted=bool(short),
            reason=reason,
            at=at,
        )
    session.refresh_from_db()


def _copy(session: TreatmentSession, zone: str, entries: Iterable[JournalEntry]) -> None:
    last = (
        SkinReading.objects.filter(session=session, zone=zone)
        .order_by("-elapsed_s")
        .values_list("elapsed_s", flat=True)
        .first()
    )
    done_events = set(
        SessionEvent.objects.filter(session=session, data__has_key="journal_seq").values_list(
            "data__journal_seq", flat=True
        )
    )
    known_alarms = set(
        Alarm.objects.filter(session=session, zone=zone).values_list("code", "raised_at")
    )
    readings: list[SkinReading] = []
    for entry in entries:
        payload = entry.payload
        if entry.kind == "reading":
            value = payload.get("skin_temp_c")
            if (
                payload.get("valid")
                and isinstance(value, int | float)
                and entry.t_s is not None
                and (last is None or entry.t_s > last)
            ):
                readings.append(
                    SkinReading(
                        session=session,
                        zone=zone,
                        sensor=(entry.device_id or "sensor")[:40],
                        recorded_at=_when(entry),
                        elapsed_s=entry.t_s,
                        skin_temp_c=float(value),
                    )
                )
                last = entry.t_s
        elif entry.kind == "alarm":
            key = (str(payload.get("condition", "alarm"))[:60], _when(entry))
            if key not in known_alarms:
                Alarm.objects.create(
                    session=session,
                    raised_at=key[1],
                    code=key[0],
                    severity=SEVERITY.get(str(payload.get("priority")), Alarm.Severity.WARNING),
                    message=str(payload.get("message", "")) + f" [{payload.get('alarm_id')}]",
                    zone=zone,
                    sensor=(entry.device_id or "")[:40],
                )
                known_alarms.add(key)
        elif entry.seq not in done_events and entry.kind in EVENT_KINDS:
            SessionEvent.objects.create(
                session=session,
                occurred_at=_when(entry),
                kind=EVENT_KINDS[entry.kind],
                message=_describe(entry),
                data={"journal_seq": entry.seq, "zone": zone, "t_s": entry.t_s, **payload},
                actor=_user(payload.get("by_user")),
            )
            if entry.kind == "alarm-ack":
                _mirror_ack(
                    session,
                    zone,
                    str(payload.get("alarm_id")),
                    _user(payload.get("by_user")),
                    _when(entry),
                )
    if readings:
        SkinReading.objects.bulk_create(readings, batch_size=2000)
        audit.record(
            interlock_actor(session),
            "reading.ingest",
            session,
            {"count": len(readings), "zone": zone},
        )


def _mirror_ack(
    session: TreatmentSession, zone: str, alarm_id: str, user: Any, at: dt.datetime
) -> None:
    alarm = Alarm.objects.filter(
        session=session, zone=zone, message__endswith=f"[{alarm_id}]", acknowledged_at__isnull=True
    ).first()
    if alarm is not None and user is not None:
        alarm.acknowledged_at = at
        alarm.acknowledged_by = user
        alarm.save(update_fields=["acknowledged_at", "acknowledged_by"])


EVENT_KINDS = {
    "session-started": SessionEvent.Kind.DEVICE,
    "stop": SessionEvent.Kind.STOPPED,
    "pause": SessionEvent.Kind.PAUSED,
    "resume": SessionEvent.Kind.RESUMED,
    "resume-after-stop": SessionEvent.Kind.RESUMED,
    "session-ended": SessionEvent.Kind.DEVICE,
    "override": SessionEvent.Kind.NOTE,
    "alarm-ack": SessionEvent.Kind.NOTE,
    "alarm-silence": SessionEvent.Kind.NOTE,
    "command-rejected": SessionEvent.Kind.NOTE,
}


def _describe(entry: JournalEntry) -> str:
    p = entry.payload
    if entry.kind == "stop":
        who = f" by {p['by_user']}" if p.get("by_user") else ""
        detail = f": {p['detail']}" if p.get("detail") else ""
        return (
            f"the interlock stopped the cold{who}: {label('stop-reason', p.get('reason'))}"
            f"{detail} (after {float(p.get('exposure_s') or 0):.1f} s of cold)"
        )
    if entry.kind == "session-started":
        return (
            f"interlock guarding {label('zone', p.get('zone'))} "
            f"({label('modality', p.get('modality'))}), floor "
            f"{celsius(p.get('floor_temp_c'), signed=True)}"
        )
    if entry.kind == "resume-after-stop":
        return (
            f"resumed after the stop ({label('stop-reason', p.get('stop_reason'))}) by "
            f"{p.get('by_user')}: {p.get('reason')}"
        )
    if entry.kind == "session-ended":
        return f"zone closed{' by ' + p['by_user'] if p.get('by_user') else ''}: {p.get('reason')}"
    if entry.kind == "alarm-ack":
        return f"alarm {p.get('alarm_id')} acknowledged by {p.get('by_user')}"
    if entry.kind == "alarm-silence":
        return f"alarm {p.get('alarm_id')} silenced by {p.get('by_user')}"
    if entry.kind == "override":
        return f"{p.get('by_user')} resumed with unacknowledged alarms {p.get('alarms')}"
    if entry.kind == "command-rejected":
        return f"the interlock refused {(p.get('command') or {}).get('action')}: {p.get('error')}"
    return f"{entry.kind} by {p.get('by_user', 'interlock')}"
