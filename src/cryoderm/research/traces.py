"""Measured temperature traces, and the importers that read them.

A :class:`Trace` is one measured series at one probe of a case: times (s from the start of
the case's phase 1), temperatures (C) and, when known, the measurement's standard deviation.

Two file formats are read (docs/research.md):

- **CSV traces** (:func:`read_trace_csv`): a header row with ``time_s`` and one column per
  probe of the case (``surface``, ``dermis-fat``, ...); a blank cell is a missing sample.
  ``# `` lines are comments.
- **A clinic session's readings** (:func:`read_clinic_readings`): what the clinic exports,
  ``GET /api/sessions/{id}/readings`` as JSON (a list of objects with ``zone``, ``sensor``,
  ``elapsed_s``, ``skin_temp_c`` and ``recorded_at``; or ``{"readings": [...]}``), or the
  same columns as CSV. One zone and one sensor make one surface trace; ``time_offset_s``
  says when, on the session's clock, the case's phase 1 began.

Bad files are refused with the file, the row or column, the value and what is allowed.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cryoderm.research.errors import InvalidStudy

TIME_COLUMN = "time_s"
READING_COLUMNS = ("zone", "sensor", "elapsed_s", "skin_temp_c")
SURFACE = "surface"
#: The plausible range of a skin or tissue temperature reading (C): beyond it, a unit error.
READING_C = (-100.0, 60.0)


@dataclass(frozen=True, eq=False)
class Trace:
    """One measured series. probe: the case's probe it is compared with; time_s (s from the
    start of phase 1) and temp_c (C) of equal length; sd_c: the measurement's standard
    deviation (C), None when unknown (then estimated from the fit's residuals).
    change_from_start: the values are changes (K) from the probe's temperature at time 0,
    as thermography studies often report ("the skin fell by 12 K")."""

    probe: str
    time_s: np.ndarray
    temp_c: np.ndarray
    sd_c: float | None = None
    label: str = ""
    change_from_start: bool = False

    @property
    def name(self) -> str:
        return self.label or self.probe


def _float(text: str, where: str, bounds: tuple[float, float] | None = None) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InvalidStudy(where, text, "a number") from None
    if not math.isfinite(value) or (bounds and not bounds[0] <= value <= bounds[1]):
        allowed = f"a number from {bounds[0]:g} to {bounds[1]:g}" if bounds else "a number"
        raise InvalidStudy(where, text, allowed)
    return value


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise InvalidStudy(str(path), "(file)", f"cannot be read ({error.strerror})") from None
    except UnicodeDecodeError:
        raise InvalidStudy(str(path), "(file)", "UTF-8 text") from None


def read_trace_csv(path: str | Path, sd_c: float | None = None) -> list[Trace]:
    """The traces of a CSV file (one per column besides ``time_s``)."""
    path = Path(path)
    lines = [line for line in _read_text(path).splitlines() if not line.startswith("#")]
    rows = list(csv.reader(lines))
    if not rows:
        raise InvalidStudy(str(path), "(empty)", f"a header row with {TIME_COLUMN} and probes")
    header = [cell.strip() for cell in rows[0]]
    if TIME_COLUMN not in header or len(header) < 2:
        raise InvalidStudy(
            f"{path}: header", ",".join(header), f"{TIME_COLUMN} and at least one probe column"
        )
    t = header.index(TIME_COLUMN)
    columns: dict[str, tuple[list[float], list[float]]] = {
        name: ([], []) for k, name in enumerate(header) if k != t
    }
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise InvalidStudy(f"{path}: row {number}", ",".join(row), f"{len(header)} cells")
        time_s = _float(row[t], f"{path}: row {number} {TIME_COLUMN}", (0.0, 1.0e6))
        for k, name in enumerate(header):
            if k == t or not row[k].strip():
                continue
            times, temps = columns[name]
            times.append(time_s)
            temps.append(_float(row[k], f"{path}: row {number} {name}", READING_C))
    traces = [
        _trace(name, times, temps, sd_c, f"{path}: {name}")
        for name, (times, temps) in columns.items()
    ]
    return traces


def _trace(
    probe: str, times: Sequence[float], temps: Sequence[float], sd_c: float | None, where: str
) -> Trace:
    if not times:
        raise InvalidStudy(where, "(no samples)", "at least one sample")
    order = np.argsort(times, kind="stable")
    time_s = np.asarray(times, dtype=float)[order]
    if np.any(np.diff(time_s) == 0.0):
        raise InvalidStudy(where, "(repeated time)", "one sample per time")
    return Trace(probe, time_s, np.asarray(temps, dtype=float)[order], sd_c, probe)


def _reading_rows(path: Path) -> list[Mapping[str, Any]]:
    text = _read_text(path)
    if path.suffix.lower() == ".json":
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise InvalidStudy(str(path), "(JSON)", f"valid JSON: {error}") from None
        if isinstance(document, Mapping):
            document = document.get("readings")
        if not isinstance(document, list) or not all(isinstance(r, Mapping) for r in document):
            raise InvalidStudy(
                str(path), type(document).__name__, "a list of readings (the clinic API's export)"
            )
        return document
    return list(csv.DictReader(io.StringIO(text)))


def read_clinic_readings(
    path: str | Path,
    *,
    zone: str | None = None,
    sensor: str | None = None,
    time_offset_s: float = 0.0,
    sd_c: float | None = None,
) -> Trace:
    """One zone's and sensor's skin readings of a clinic session, as a surface trace.

    zone / sensor: which series (needed when the file holds several). time_offset_s: the
    session's elapsed time at which the case's phase 1 starts (readings before it are
    dropped)."""
    path = Path(path)
    rows = _reading_rows(path)
    series: dict[tuple[str, str], tuple[list[float], list[float]]] = {}
    for number, row in enumerate(rows, start=1):
        missing = [c for c in READING_COLUMNS if row.get(c) in (None, "")]
        if missing:
            raise InvalidStudy(
                f"{path}: reading {number}", dict(row), f"has {', '.join(READING_COLUMNS)}"
            )
        key = (str(row["zone"]), str(row["sensor"]))
        times, temps = series.setdefault(key, ([], []))
        elapsed = _float(str(row["elapsed_s"]), f"{path}: reading {number} elapsed_s", (0.0, 1e6))
        temp = _float(str(row["skin_temp_c"]), f"{path}: reading {number} skin_temp_c", READING_C)
        if elapsed >= time_offset_s:
            times.append(elapsed - time_offset_s)
            temps.append(temp)
    chosen = [
        key
        for key in series
        if (zone is None or key[0] == zone) and (sensor is None or key[1] == sensor)
    ]
    if len(chosen) != 1:
        found = ", ".join(f"zone {z} sensor {s}" for z, s in series) or "no readings"
        what = "no series matches" if not chosen else "several series match"
        raise InvalidStudy(
            f"{path}: zone/sensor", f"{zone}/{sensor}", f"{what}; give --zone and --sensor: {found}"
        )
    z, s = chosen[0]
    times, temps = series[(z, s)]
    trace = _trace(SURFACE, times, temps, sd_c, f"{path}: zone {z} sensor {s}")
    return Trace(SURFACE, trace.time_s, trace.temp_c, sd_c, f"{z} {s}")


def read_measured(
    path: Path,
    *,
    zone: str | None = None,
    sensor: str | None = None,
    time_offset_s: float = 0.0,
    sd_c: float | None = None,
) -> list[Trace]:
    """A measured file, recognised by its content: clinic readings (JSON, or CSV with the
    readings' columns) or a CSV of traces."""
    if path.suffix.lower() == ".json" or _has_reading_columns(path):
        return [
            read_clinic_readings(
                path, zone=zone, sensor=sensor, time_offset_s=time_offset_s, sd_c=sd_c
            )
        ]
    return read_trace_csv(path, sd_c=sd_c)


def _has_reading_columns(path: Path) -> bool:
    lines = [line for line in _read_text(path).splitlines() if not line.startswith("#")]
    header = next(csv.reader(lines[:1]), [])
    return all(column in [h.strip() for h in header] for column in READING_COLUMNS)
