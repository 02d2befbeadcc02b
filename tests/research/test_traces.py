"""Importers of measured traces: CSV traces and a clinic session's exported readings (the
JSON of GET /api/sessions/{id}/readings, or the same columns as CSV)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cryoderm.research.errors import InvalidStudy
from cryoderm.research.traces import read_clinic_readings, read_measured, read_trace_csv

# What the clinic API returns for a session's readings (schema ReadingOut).
READINGS = [
    {
        "zone": "cheek",
        "sensor": "ir-1",
        "recorded_at": "2026-11-20T10:00:05Z",
        "elapsed_s": 5.0,
        "skin_temp_c": 31.2,
    },
    {
        "zone": "cheek",
        "sensor": "ir-1",
        "recorded_at": "2026-11-20T10:00:15Z",
        "elapsed_s": 15.0,
        "skin_temp_c": 22.4,
    },
    {
        "zone": "cheek",
        "sensor": "ir-1",
        "recorded_at": "2026-11-20T10:00:10Z",
        "elapsed_s": 10.0,
        "skin_temp_c": 25.0,
    },
    {
        "zone": "forehead",
        "sensor": "ir-2",
        "recorded_at": "2026-11-20T10:00:10Z",
        "elapsed_s": 10.0,
        "skin_temp_c": 28.0,
    },
]


def test_a_csv_of_traces_gives_one_trace_per_probe_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(
        "# thermocouples\ntime_s,surface,dermis-fat\n0,33.1,35.0\n5,20.2,\n10,15.0,30.1\n"
    )
    surface, deep = read_trace_csv(path, sd_c=0.2)
    assert surface.probe == "surface" and list(surface.time_s) == [0.0, 5.0, 10.0]
    assert deep.probe == "dermis-fat" and list(deep.temp_c) == [35.0, 30.1]  # blank = missing
    assert surface.sd_c == 0.2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("t,surface\n0,30\n", "time_s and at least one probe"),
        ("time_s,surface\n0,3000\n", r"row 2 surface = '3000': a number from -100 to 60"),
        ("time_s,surface\n0,30\n0,31\n", "one sample per time"),
        ("time_s,surface\n0,warm\n", "a number"),
    ],
)
def test_a_bad_trace_file_is_refused_naming_row_and_column(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(InvalidStudy, match=message):
        read_trace_csv(path)


def test_clinic_readings_give_the_chosen_zone_as_a_surface_trace(tmp_path):
    path = tmp_path / "session-12.json"
    path.write_text(json.dumps(READINGS))
    trace = read_clinic_readings(path, zone="cheek", time_offset_s=5.0)
    assert trace.probe == "surface"
    np.testing.assert_array_equal(trace.time_s, [0.0, 5.0, 10.0])  # in time order, from phase 1
    np.testing.assert_array_equal(trace.temp_c, [31.2, 25.0, 22.4])
    with pytest.raises(InvalidStudy, match="several series match; give --zone and --sensor"):
        read_clinic_readings(path)


def test_clinic_readings_as_csv_are_recognised_by_their_columns(tmp_path):
    path = tmp_path / "session.csv"
    rows = ["zone,sensor,recorded_at,elapsed_s,skin_temp_c"]
    rows += [
        f"{r['zone']},{r['sensor']},{r['recorded_at']},{r['elapsed_s']},{r['skin_temp_c']}"
        for r in READINGS
    ]
    path.write_text("\n".join(rows) + "\n")
    (trace,) = read_measured(path, zone="forehead")
    assert trace.label == "forehead ir-2" and list(trace.temp_c) == [28.0]
