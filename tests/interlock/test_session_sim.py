"""``cryoderm session-sim``: whole sessions on the planner's protocol and the thermal engine,
through the real interlock (embedded transport, controlled clock, no database)."""

from __future__ import annotations

import json

import pytest

from cryoderm.cli import main
from cryoderm.interlock.face import EngineFace
from cryoderm.interlock.simulation import planned_step

RECORD_KEYS = {
    "stopped",
    "stop_reason",
    "stop_time_s",
    "last_valid_reading_s",
    "min_skin_temp_c",
    "readings",
    "alarms",
    "stop_latency_ms",
}


def session_sim(capsys, ram_dir, *args):
    code = main(["session-sim", *args, "--journal", str(ram_dir / "journal"), "--format", "json"])
    assert code == 0
    return json.loads(capsys.readouterr().out)


def test_a_session_without_fault_ends_with_its_plan(capsys, ram_dir):
    record = session_sim(capsys, ram_dir, "--zone", "cheek", "--modality", "cold-air")
    assert set(record) >= RECORD_KEYS
    assert record["stopped"] and record["stop_reason"] == "plan-complete"
    assert record["stop_time_s"] == pytest.approx(record["planned_duration_s"], abs=0.06)
    assert record["readings_acknowledged"] == record["readings"] > 0
    assert record["min_skin_temp_c"] > record["floor_temp_c"]


def test_a_lingering_ln2_wand_is_stopped_before_the_skin_passes_the_floor(capsys, ram_dir):
    record = session_sim(
        capsys, ram_dir, "--zone", "cheek", "--modality", "ln2-vapour", "--fault", "linger"
    )
    assert record["stop_reason"] in ("floor", "predicted-floor")
    assert record["stop_time_s"] < record["planned_duration_s"]
    # The truth (the engine's surface) went no more than a little below the floor.
    assert record["min_true_skin_temp_c"] > record["floor_temp_c"] - 0.5
    conditions = [a["condition"] for a in record["alarms"]]
    assert conditions[-1] in ("floor", "predicted-floor")
    assert "predicted-floor-warning" in conditions or "warning-temp" in conditions


@pytest.mark.parametrize("fault", ["dropout", "nan", "stuck"])
def test_a_sensor_fault_is_a_fail_safe_stop_within_the_timeout(capsys, ram_dir, fault):
    record = session_sim(
        capsys,
        ram_dir,
        "--zone",
        "cheek",
        "--modality",
        "cold-air",
        "--fault",
        fault,
        "--fault-start-s",
        "4",
    )
    assert record["stop_reason"] == "no-valid-reading"
    assert record["stop_time_s"] - record["last_valid_reading_s"] <= 1.0 + 0.06
    (alarm,) = record["alarms"]
    assert alarm["category"] == "technical" and alarm["priority"] == "high"


def test_an_unknown_zone_is_a_user_error(capsys, ram_dir):
    code = main(
        ["session-sim", "--zone", "elbow", "--modality", "cold-air", "--journal", str(ram_dir)]
    )
    assert code == 2
    assert "zone" in capsys.readouterr().err


def test_the_virtual_face_rewarms_after_the_cold_is_taken_off():
    _, step = planned_step("cheek", "cold-air", None)
    face = EngineFace(step.case)
    cold = face.temp_c(30.0)
    face.cold_off(30.0)
    assert face.temp_c(30.0) == pytest.approx(cold, abs=1e-6)
    assert face.temp_c(40.0) > cold + 2.0
    untouched = EngineFace(step.case)
    assert untouched.temp_c(40.0) < cold


def test_the_virtual_face_takes_changes_closer_than_the_engines_shortest_phase():
    from cryoderm.interlock.face import EngineFace
    from cryoderm.interlock.simulation import planned_step

    _, step = planned_step("cheek", "cold-air", None)
    face = EngineFace(step.case)
    face.cold_off(5.0)  # a pause, then a stop 0.1 ms later, then a resume
    face.cold_on(5.0001)
    face.cold_off(5.0002)
    phases = face.phases(60.0)
    assert min(p.duration_s for p in phases) >= 0.001
    assert sum(p.duration_s for p in phases) == pytest.approx(60.0)
    assert face.temp_c(6.0) > face.temp_c(5.0)  # rewarming after the cold went off
