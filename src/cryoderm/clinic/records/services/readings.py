"""Skin-temperature readings: ingest from a session's own device, and audited reads.

Who may write: the device of the session (``device:<serial>``, its API token) or the
interlock guarding it (``interlock:<serial>``); never a person, never another device.

What is accepted, all or none per batch:

- only while the session is in progress, or within :data:`LATE_UPLOAD` after it ended (a
  device re-sending the buffer it could not deliver); not before the start, never into a
  session that ended long ago;
- only the session's own zones;
- only plausible times: ``elapsed_s`` from 0 to the session's length so far (its end, or
  now, and never more than a day) and ``recorded_at`` inside the session, neither ahead of
  the clock by more than :data:`CLOCK_SKEW`;
- a finite ``skin_temp_c`` in the sensor's plausible range (the interlock's own limits).

A reading is identified in its session by (zone, sensor, elapsed_s); the database holds that
as a unique constraint. A reading sent again with the same value is a duplicate: counted, not
stored twice, so a device may re-send a batch whose answer it lost. The same identity with
another value is refused (409): one of the two is corrupt and a reading is never overwritten.
Ingests of one session are serialised by locking the session row.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connections, router, transaction
from django.utils import timezone

from cryoderm.clinic import audit
from cryoderm.clinic.accounts.errors import PermissionRefused
from cryoderm.data import load_table

from ..errors import Conflict, InvalidRecord, RecordNotFound
from ..models import SkinReading, TreatmentSession
from ._common import CLOCK_SKEW, authorize, load, require_finite

_SENSOR = load_table("interlock")["sensor"]
#: The plausible range of a skin-surface reading (data/interlock.toml [sensor], with its
#: source): outside it a reading is a sensor fault, refused here as by the interlock.
VALID_MIN_C = float(_SENSOR["valid_min_c"])
VALID_MAX_C = float(_SENSOR["valid_max_c"])
#: A sensor's name as devices and the interlock give it (the interlock's device ids are
#: letters, digits, '-' and '_'): nothing that a spreadsheet would run as a formula when a
#: series is exported (a leading '=', '+', '-' or '@') and nothing a page could take for markup.
SENSOR_NAME = re.compile(r"[^\W_][\w.:-]{0,39}")
#: Largest batch of readings accepted in one call (10 Hz x 3 sensors x 5 min is 9,000).
MAX_BATCH = 10_000
#: assumption: a device that lost its link re-sends its buffer within minutes of the stop;
#: a write later than this is not a late upload but a change to a closed record.
LATE_UPLOAD = dt.timedelta(minutes=10)
#: assumption: no treatment session lasts a day; an elapsed time beyond it is a corrupt clock.
MAX_ELAPSED_S = 86_400.0

Key = tuple[str, str, float]


@dataclass(frozen=True)
class IngestResult:
    """``accepted`` readings were stored; ``duplicates`` were already stored, unchanged."""

    accepted: int
    duplicates: int


def _check_writer(actor: Any, session: TreatmentSession) -> None:
    """A device or interlock label must name this session's device."""
    if not isinstance(actor, str) or not actor.startswith(("device:", "interlock:")):
        return
    serial = actor.partition(":")[2]
    if serial != session.device.serial_number:
        raise PermissionRefused(
            action=f"reading.ingest into session {session.pk} (another device's session)",
            who=actor,
            roles=("device",),
        )


def _window(session: TreatmentSession, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """[start, end] of the times a reading of this session may carry, now."""
    if session.started_at is None or session.status == TreatmentSession.Status.PLANNED:
        raise Conflict(
            f"session {session.pk} has not started; readings come after the start", "status"
        )
    if session.ended_at is not None:
        if now - session.ended_at > LATE_UPLOAD:
            raise Conflict(
                f"session {session.pk} ended at {session.ended_at:%Y-%m-%d %H:%M}; readings "
                f"are accepted up to {LATE_UPLOAD.total_seconds() / 60:g} min after the end",
                "status",
            )
        return session.started_at, session.ended_at
    # A session "in progress" for longer than any session lasts was left open: it takes no
    # readings past a day from its start.
    return session.started_at, min(now, session.started_at + dt.timedelta(seconds=MAX_ELAPSED_S))


def _time(where: str, value: object) -> dt.datetime:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise InvalidRecord(f"{where}", f"{value!r} is not an ISO 8601 time") from None
    if not isinstance(value, dt.datetime) or timezone.is_naive(value):
        raise InvalidRecord(where, "an ISO 8601 time with a time zone")
    return value


def _reading(
    session: TreatmentSession, window: tuple[dt.datetime, dt.datetime], index: int, item: object
) -> SkinReading:
    where = f"readings[{index}]"
    if not isinstance(item, Mapping):
        raise InvalidRecord(
            where, "each reading is an object {zone, sensor, elapsed_s, skin_temp_c}"
        )
    start, end = window
    zone = str(item.get("zone") or "")
    if zone not in session.zones:
        raise InvalidRecord(
            f"{where}.zone",
            f"{zone!r} is not a zone of session {session.pk} ({', '.join(session.zones)})",
        )
    sensor = str(item.get("sensor") or "").strip()
    if not SENSOR_NAME.fullmatch(sensor):
        raise InvalidRecord(
            f"{where}.sensor",
            f"{sensor[:50]!r}: a sensor name of 1-40 letters, digits, '.', ':', '-' or '_', "
            "starting with a letter or digit",
        )
    elapsed = require_finite(f"{where}.elapsed_s", item.get("elapsed_s"), "s")
    length_s = min((end - start).total_seconds() + CLOCK_SKEW.total_seconds(), MAX_ELAPSED_S)
    if not 0 <= elapsed <= length_s:
        raise InvalidRecord(
            f"{where}.elapsed_s",
            f"{elapsed:g} s is outside the session so far (0 to {length_s:.0f} s)",
        )
    recorded_at = item.get("recorded_at")
    when = (
        start + dt.timedelta(seconds=elapsed)
        if recorded_at is None
        else _time(f"{where}.recorded_at", recorded_at)
    )
    if not start - CLOCK_SKEW <= when <= end + CLOCK_SKEW:
        raise InvalidRecord(
            f"{where}.recorded_at",
            f"{when.isoformat()} is outside the session ({start.isoformat()} to {end.isoformat()})",
        )
    temp = require_finite(f"{where}.skin_temp_c", item.get("skin_temp_c"), "°C")
    if not VALID_MIN_C <= temp <= VALID_MAX_C:
        raise InvalidRecord(
            f"{where}.skin_temp_c",
            f"{temp:g} °C is outside a skin sensor's plausible range "
            f"({VALID_MIN_C:g} to {VALID_MAX_C:g} °C)",
        )
    return SkinReading(
        session=session,
        zone=zone,
        sensor=sensor,
        recorded_at=when,
        elapsed_s=elapsed,
        skin_temp_c=temp,
    )


def _key(reading: SkinReading) -> Key:
    return (reading.zone, reading.sensor, reading.elapsed_s)


def _stored(session: TreatmentSession, keys: set[Key]) -> dict[Key, float]:
    """The stored values of the readings of ``session`` with these identities."""
    elapsed = [key[2] for key in keys]
    rows = (
        SkinReading.objects.filter(
            session=session,
            zone__in={key[0] for key in keys},
            sensor__in={key[1] for key in keys},
            elapsed_s__gte=min(elapsed),
            elapsed_s__lte=max(elapsed),
        )
        .order_by()
        .values_list("zone", "sensor", "elapsed_s", "skin_temp_c")
    )
    return {(zone, sensor, t): temp for zone, sensor, t, temp in rows if (zone, sensor, t) in keys}


#: The columns of a reading's identity (the unique constraint), named in ON CONFLICT.
_IDENTITY = next(
    constraint.fields
    for constraint in SkinReading._meta.constraints
    if constraint.name == "one_reading_per_sensor_and_time"
)
#: Every column written by an insert (all but the id).
_INSERTED = [field for field in SkinReading._meta.concrete_fields if not field.primary_key]


def _insert_new(rows: list[SkinReading]) -> set[Key]:
    """Insert ``rows`` (identities distinct) but those whose identity is stored already; the
    identities inserted.

    ``INSERT ... ON CONFLICT (identity) DO NOTHING RETURNING identity``, on PostgreSQL and
    SQLite alike: a fresh batch, the usual one, is stored without first reading what is
    stored; only the identities skipped are read back (:func:`_stored`) to tell a duplicate
    from a changed reading. ``bulk_create(ignore_conflicts=True)`` cannot say which rows it
    skipped. A violation of any other constraint still raises IntegrityError."""
    alias = router.db_for_write(SkinReading)
    connection = connections[alias]
    ops = connection.ops
    quote = ops.quote_name
    table = quote(SkinReading._meta.db_table)
    columns = ", ".join(quote(field.column) for field in _INSERTED)
    target = ", ".join(quote(SkinReading._meta.get_field(name).column) for name in _IDENTITY)
    returning = ", ".join(
        quote(SkinReading._meta.get_field(name).column) for name in ("zone", "sensor", "elapsed_s")
    )
    row_sql = f"({', '.join(['%s'] * len(_INSERTED))})"
    # As bulk_create: at most 2000 rows a statement, fewer where the database allows fewer
    # parameters (SQLite: 999, so 166 rows).
    size = max(1, min(2000, ops.bulk_batch_size(_INSERTED, rows)))
    inserted: set[Key] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([row_sql] * len(chunk))} "
                f"ON CONFLICT ({target}) DO NOTHING RETURNING {returning}",
                [
                    field.get_db_prep_save(field.pre_save(row, add=True), connection)
                    for row in chunk
                    for field in _INSERTED
                ],
            )
            inserted.update(cursor.fetchall())
    return inserted


#: What the ingest reads of the session and its device (its rules, the writer's device):
#: not the plan (JSON, decoded for nothing) nor the device's other columns, on every batch.
#: Another field read would cost a query of its own, which test_request_cost would count.
_SESSION_FIELDS = ("status", "started_at", "ended_at", "zones", "device__serial_number")


def _locked_session(session_id: object) -> TreatmentSession:
    """The session, locked for the ingest, with its device (whose serial names the writer)
    read in the same query; the device row itself is not locked."""
    sessions = (
        TreatmentSession.objects.select_related("device")
        .only(*_SESSION_FIELDS)
        .select_for_update(of=("self",))
    )
    try:
        return sessions.get(pk=session_id)
    except (TreatmentSession.DoesNotExist, ValueError, TypeError):
        raise RecordNotFound(TreatmentSession._meta.verbose_name, session_id) from None


def _written_meanwhile(session: TreatmentSession) -> Conflict:
    # The session lock serialises ingests; only a writer that bypassed this service can
    # race it, and the unique constraint keeps the record whole.
    return Conflict(
        f"readings of session {session.pk} were written meanwhile; send the batch again",
        "readings",
    )


@transaction.atomic
def ingest(
    actor: Any,
    session_id: object,
    readings: Iterable[Mapping[str, Any]],
    *,
    now: dt.datetime | None = None,
    check_session: Callable[[TreatmentSession], None] | None = None,
) -> IngestResult:
    """Store the batch's new readings, all or none; see the module's rules. ``now`` is the
    server's clock (a parameter for the tests of the time rules). ``check_session``, the
    caller's own check of the session (the API's device-token scope), runs on the locked
    session with its device, so that the caller needs no query of its own to read them; it
    refuses by raising (PermissionRefused)."""
    authorize(actor, "reading.ingest")
    items = list(readings)
    if not items:
        raise InvalidRecord("readings", "an empty batch; send at least one reading")
    if len(items) > MAX_BATCH:
        raise InvalidRecord("readings", f"{len(items)} readings; at most {MAX_BATCH} per batch")
    session = _locked_session(session_id)
    if check_session is not None:
        check_session(session)
    _check_writer(actor, session)
    window = _window(session, now or timezone.now())
    rows = [_reading(session, window, i, item) for i, item in enumerate(items)]
    # The first reading of each identity in the batch is inserted unless stored already; a
    # later one of the same identity is checked against it below.
    first: dict[Key, SkinReading] = {}
    for row in rows:
        first.setdefault(_key(row), row)
    try:
        # No savepoint: a refused insert refuses the whole batch (the transaction ends).
        with transaction.atomic(savepoint=False):
            inserted = _insert_new(list(first.values()))
    except IntegrityError:
        raise _written_meanwhile(session) from None
    skipped = {key for key in first if key not in inserted}
    # What was stored before this batch. The check runs after the insert: a refusal below
    # rolls the whole batch back with the transaction, so nothing of it is kept.
    known = _stored(session, skipped) if skipped else {}
    if len(known) != len(skipped):
        # Skipped as stored, yet not found: only a writer that bypassed the session lock can
        # cause that, and counting such a reading as accepted would report it stored.
        raise _written_meanwhile(session)
    accepted = 0
    duplicates = 0
    for index, row in enumerate(rows):
        key = _key(row)
        if key in known:
            if known[key] != row.skin_temp_c:
                raise Conflict(
                    f"readings[{index}]: {key[1]} on {key[0]} at {key[2]:g} s is already "
                    f"stored as {known[key]:g} °C, not {row.skin_temp_c:g} °C; a reading is "
                    "never overwritten",
                    f"readings[{index}].skin_temp_c",
                )
            duplicates += 1
            continue
        known[key] = row.skin_temp_c
        accepted += 1
    audit.record(
        actor,
        "reading.ingest",
        session,
        {"count": accepted, "duplicates": duplicates},
    )
    return IngestResult(accepted=accepted, duplicates=duplicates)


@transaction.atomic
def series(
    actor: Any,
    session_id: object,
    *,
    zone: str | None = None,
    sensor: str | None = None,
    after_elapsed_s: float = -1.0,
    limit: int = 1000,
) -> list[SkinReading]:
    """A session's readings in time order, the read audited."""
    authorize(actor, "reading.view")
    session = load(TreatmentSession, session_id)
    found = SkinReading.objects.filter(session=session, elapsed_s__gt=after_elapsed_s)
    if zone:
        found = found.filter(zone=zone)
    if sensor:
        found = found.filter(sensor=sensor)
    rows = list(found.order_by("elapsed_s", "zone", "sensor", "id")[:limit])
    audit.record(actor, "reading.read", session, {"client": session.client_id, "count": len(rows)})
    return rows
