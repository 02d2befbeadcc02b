"""Reading ingest made idempotent: a resent batch stores nothing twice.

A reading is identified within its session by (zone, sensor, elapsed_s): one sensor cannot
measure two temperatures at one instant. Resending a stored reading with the same value is
acknowledged as a duplicate (the interlock retries after a lost acknowledgement); resending
it with a *different* value is refused (409), because one of the two is corrupt. Ingests of
one session are serialised by locking the session row, so two concurrent resends cannot
both store the same reading. New readings are stored by the records service, all or none.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from cryoderm.clinic.records.errors import Conflict, InvalidRecord
from cryoderm.clinic.records.models import SkinReading, TreatmentSession
from cryoderm.clinic.records.services import _common
from cryoderm.clinic.records.services import sessions as session_service

Key = tuple[str, str, float]
_INDEXED_FIELD = re.compile(r"^readings\[(\d+)\]")


@dataclass(frozen=True)
class IngestResult:
    """``accepted`` readings were stored; ``duplicates`` were already stored, unchanged."""

    accepted: int
    duplicates: int


def _key(reading: Mapping[str, Any]) -> Key:
    return (str(reading["zone"]), str(reading["sensor"]), float(reading["elapsed_s"]))


def _stored(session: TreatmentSession, keys: set[Key]) -> dict[Key, float]:
    elapsed = [key[2] for key in keys]
    rows = SkinReading.objects.filter(
        session=session,
        zone__in={key[0] for key in keys},
        sensor__in={key[1] for key in keys},
        elapsed_s__gte=min(elapsed),
        elapsed_s__lte=max(elapsed),
    ).values_list("zone", "sensor", "elapsed_s", "skin_temp_c")
    return {(zone, sensor, t): temp for zone, sensor, t, temp in rows if (zone, sensor, t) in keys}


@transaction.atomic
def ingest(actor: Any, session_id: object, readings: Sequence[Mapping[str, Any]]) -> IngestResult:
    """Store the readings of ``readings`` not stored yet; see the module's rules."""
    session = _common.load(TreatmentSession, session_id, lock=True)
    if not readings:
        raise InvalidRecord("readings", "an empty batch; send at least one reading")
    known = _stored(session, {_key(r) for r in readings})
    fresh: list[Mapping[str, Any]] = []
    positions: list[int] = []
    duplicates = 0
    for index, reading in enumerate(readings):
        key, temp = _key(reading), float(reading["skin_temp_c"])
        if key in known:
            if known[key] != temp:
                raise Conflict(
                    f"readings[{index}]: {key[1]} on {key[0]} at {key[2]} s is already stored "
                    f"as {known[key]} °C, not {temp} °C; a reading is never overwritten",
                    f"readings[{index}].skin_temp_c",
                )
            duplicates += 1
            continue
        known[key] = temp
        fresh.append(reading)
        positions.append(index)
    if fresh:
        try:
            session_service.add_readings(actor, session.pk, fresh)
        except InvalidRecord as error:
            raise _renumbered(error, positions) from error
    return IngestResult(accepted=len(fresh), duplicates=duplicates)


def _renumbered(error: InvalidRecord, positions: list[int]) -> InvalidRecord:
    """The service numbers the readings it was given; the caller numbered the whole batch."""
    match = _INDEXED_FIELD.match(error.field)
    if match is None:
        return error
    original = positions[int(match.group(1))]
    field = f"readings[{original}]" + error.field[match.end() :]
    return InvalidRecord(field, error.message)
