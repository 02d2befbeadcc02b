"""Copy interlock journal entries into the clinic's records, idempotently.

A journal entry is copied at most once whatever the number of callers or restarts: readings
are keyed by (session, zone, device, elapsed time), alarms by (session, condition, zone,
raised time), events by the journal seq kept in their data. The journal is the source of
truth; this only mirrors it into the database for the session record and the reports.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from cryoderm.clinic import audit
from cryoderm.clinic.records.models import Alarm, SessionEvent, SkinReading, TreatmentSession
from cryoderm.interlock import Journal, JournalEntry

_lock = threading.Lock()
# How far each (session, zone) was copied by this process; a restart starts from 0 and the
# keys above keep the copy idempotent.
_cursor: dict[str, int] = {}

#: The interlock's alarm priority -> the records' severity (a high-priority alarm is raised
#: with a stop; medium and low are warnings).
SEVERITY = {
    "high": Alarm.Severity.STOP,
    "medium": Alarm.Severity.WARNING,
    "low": Alarm.Severity.WARNING,
}


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


def _when(entry: JournalEntry) -> dt.datetime:
    return dt.datetime.fromtimestamp(entry.wall_time_s, tz=dt.UTC)


def _user(name: Any) -> Any:
    if not name:
        return None
    return get_user_model().objects.filter(username=name).first()


def forward(journal: Journal, session: TreatmentSession) -> int:
    """Copy every journal entry of ``session``'s zones not yet in the database; returns the
    number of records written."""
    with _lock:
        written = 0
        for zone in session.zones:
            live_id = str(LiveId(session.pk, zone))
            entries = journal.read_after(_cursor.get(live_id, 0), limit=100_000, session_id=live_id)
            if entries:
                written += _copy(session, zone, entries)
                _cursor[live_id] = entries[-1].seq
        return written


@transaction.atomic
def _copy(session: TreatmentSession, zone: str, entries: Iterable[JournalEntry]) -> int:
    last = (
        SkinReading.objects.filter(session=session, zone=zone)
        .order_by("-elapsed_s")
        .values_list("elapsed_s", flat=True)
        .first()
    )
    done_events = {
        e.data.get("journal_seq")
        for e in SessionEvent.objects.filter(session=session).only("data")
        if isinstance(e.data, dict)
    }
    known_alarms = set(
        Alarm.objects.filter(session=session, zone=zone).values_list("code", "raised_at")
    )
    readings: list[SkinReading] = []
    written = 0
    actor = f"interlock:{session.device.serial_number}"
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
                written += 1
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
            written += 1
    if readings:
        SkinReading.objects.bulk_create(readings, batch_size=2000)
        audit.record(actor, "reading.ingest", session, {"count": len(readings), "zone": zone})
    return written + len(readings)


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
    "override": SessionEvent.Kind.NOTE,
    "alarm-ack": SessionEvent.Kind.NOTE,
    "alarm-silence": SessionEvent.Kind.NOTE,
    "command-rejected": SessionEvent.Kind.NOTE,
}


def _describe(entry: JournalEntry) -> str:
    p = entry.payload
    if entry.kind == "stop":
        return f"interlock stopped the cold: {p.get('reason')} (exposure {p.get('exposure_s')} s)"
    if entry.kind == "session-started":
        return f"interlock guarding {p.get('zone')} ({p.get('modality')}), floor {p.get('floor_temp_c')} °C"
    if entry.kind == "alarm-ack":
        return f"alarm {p.get('alarm_id')} acknowledged by {p.get('by_user')}"
    if entry.kind == "alarm-silence":
        return f"alarm {p.get('alarm_id')} silenced by {p.get('by_user')}"
    if entry.kind == "override":
        return f"{p.get('by_user')} resumed with unacknowledged alarms {p.get('alarms')}"
    return f"{entry.kind} by {p.get('by_user', 'interlock')}"
