"""Every interlock rule, by fault injection on a controlled clock (docs/interlock.md, IL-2 to IL-6).

The rig: a simulated device on a lumped test face, the real interlock, the embedded
transport and a real journal in a temporary directory; the clock moves only when told.
"""

from __future__ import annotations

import math

import pytest

from cryoderm.interlock.errors import (
    ActionRefused,
    InvalidInterlockInput,
    UnknownAlarm,
    UnknownSession,
)
from cryoderm.interlock.faults import Fault
from cryoderm.interlock.journal import entries_of
from cryoderm.interlock.model import (
    AlarmCategory,
    AlarmPriority,
    DeviceCommand,
    PlannedCurve,
    Reading,
    StopReason,
)

from .helpers import LumpedFace, limits, make_rig

NO_FORECAST = {"prediction_min_readings": 10_000}


def alarms_of(rig, condition):
    return [a for a in rig.interlock.guard("s1").alarms if a.condition == condition]


def test_a_reading_at_the_floor_stops_the_device_with_a_high_priority_alarm(ram_dir):
    rig = make_rig(
        ram_dir,
        face=LumpedFace(cold_temp_c=-10.0, tau_s=10.0),
        session_limits=limits(**NO_FORECAST),
    )
    rig.run_until_stopped()
    guard = rig.interlock.guard("s1")
    assert guard.stop_reason is StopReason.FLOOR
    assert rig.device.state == "stopped" and rig.device.log.stopped_by == "interlock"
    assert rig.device.log.commands[0][1] is DeviceCommand.STOP
    # The stop reached the device on the same clock instant as the reading that crossed.
    assert rig.device.log.stopped_at_s == pytest.approx(guard.t_s(guard.stop_at_s), abs=1e-9)
    assert guard.min_valid_temp_c <= 2.0
    (floor,) = alarms_of(rig, "floor")
    assert floor.priority is AlarmPriority.HIGH and floor.category is AlarmCategory.PHYSIOLOGICAL
    assert rig.interlock.stop_latency_ms("s1") < 20.0


def test_the_forecast_stops_before_the_floor_after_warning_ahead_of_it(ram_dir):
    rig = make_rig(ram_dir, face=LumpedFace(cold_temp_c=-10.0, tau_s=10.0))
    rig.run_until_stopped()
    guard = rig.interlock.guard("s1")
    assert guard.stop_reason is StopReason.PREDICTED_FLOOR
    assert guard.min_valid_temp_c > limits().floor_temp_c
    (warning,) = alarms_of(rig, "predicted-floor-warning")
    (stop_alarm,) = alarms_of(rig, "predicted-floor")
    assert warning.priority is AlarmPriority.MEDIUM and stop_alarm.priority is AlarmPriority.HIGH
    assert warning.raised_t_s < stop_alarm.raised_t_s - 1.0


def test_a_warning_temperature_alarm_clears_when_the_skin_warms_but_a_floor_alarm_latches(ram_dir):
    rig = make_rig(
        ram_dir, face=LumpedFace(cold_temp_c=2.5, tau_s=5.0), session_limits=limits(**NO_FORECAST)
    )
    rig.run_for(25.0)
    (warning,) = alarms_of(rig, "warning-temp")
    assert warning.active
    rig.interlock.pause("s1", by_user="alice")
    rig.run_for(5.0)
    (warning,) = alarms_of(rig, "warning-temp")
    assert not warning.active
    kinds = [e.kind for e in entries_of(rig.journal, "s1")]
    assert "alarm-cleared" in kinds and "pause" in kinds


def test_the_exposure_timer_stops_whatever_the_temperature_and_pauses_do_not_count(ram_dir):
    rig = make_rig(ram_dir, face=LumpedFace(cold_temp_c=20.0, tau_s=10.0))
    rig.run_for(20.0)
    rig.interlock.pause("s1", by_user="alice")
    rig.run_for(10.0)
    rig.interlock.resume("s1", by_user="alice")
    rig.run_until_stopped()
    guard = rig.interlock.guard("s1")
    assert guard.stop_reason is StopReason.TIMER
    assert guard.t_s(guard.stop_at_s) == pytest.approx(70.0, abs=0.06)
    assert guard.exposure_s(guard.stop_at_s) == pytest.approx(60.0, abs=0.06)
    (timer,) = alarms_of(rig, "timer")
    assert timer.priority is AlarmPriority.LOW
    assert rig.device.state == "stopped"


def test_the_plan_end_stops_the_session_as_plan_complete(ram_dir):
    rig = make_rig(ram_dir, face=LumpedFace(cold_temp_c=20.0), planned_duration_s=30.0)
    rig.run_until_stopped()
    guard = rig.interlock.guard("s1")
    assert guard.stop_reason is StopReason.PLAN_COMPLETE
    assert guard.t_s(guard.stop_at_s) == pytest.approx(30.0, abs=0.06)
    assert guard.alarms == ()


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (Fault("dropout", start_s=10.05), None),
        (Fault("nan", start_s=10.05), "nan"),
        (Fault("out-of-range", start_s=10.05), "out-of-range"),
        (Fault("out-of-range", start_s=10.05, magnitude=60.0), "out-of-range"),
    ],
)
def test_no_valid_reading_for_one_second_is_a_fail_safe_stop_with_a_technical_alarm(
    ram_dir, fault, reason
):
    rig = make_rig(ram_dir, face=LumpedFace(cold_temp_c=20.0), fault=fault)
    rig.run_until_stopped()
    guard = rig.interlock.guard("s1")
    assert guard.stop_reason is StopReason.NO_VALID_READING
    # The last valid reading was the one at 10.0 s (10 Hz); the stop comes 1 s after it,
    # late by at most one loop tick (0.05 s).
    assert guard.t_s(guard.last_valid_at_s) == pytest.approx(10.0, abs=1e-6)
    assert 11.0 < guard.t_s(guard.stop_at_s) <= 11.0 + 0.05 + 0.011
    (alarm,) = alarms_of(rig, "no-valid-reading")
    assert alarm.category is AlarmCategory.TECHNICAL and alarm.priority is AlarmPriority.HIGH
    assert rig.device.state == "stopped"
    if reason:
        invalid = [
            e.payload["invalid_reason"]
            for e in entries_of(rig.journal, "s1", ["reading"])
            if not e.payload["valid"]
        ]
        assert invalid and set(invalid) == {reason}


def test_a_device_that_never_sends_a_valid_reading_is_stopped_after_the_start_grace(ram_dir):
    rig = make_rig(ram_dir, fault=Fault("nan", start_s=0.0))
    rig.run_until_stopped()
    guard = rig.interlock.guard("s1")
    assert guard.stop_reason is StopReason.NO_VALID_READING
    assert guard.t_s(guard.stop_at_s) == pytest.approx(2.0, abs=0.06)


def test_a_stale_reading_is_not_a_valid_reading(ram_dir):
    rig = make_rig(ram_dir, face=LumpedFace(cold_temp_c=20.0))
    rig.run_for(5.0)
    wall = rig.clock.wall_time_s()
    last = rig.device.log.sent[-1].seq
    for i in range(15):
        rig.clock.advance(0.1)
        rig.transport.publish_reading(Reading("dev-1", last + 1 + i, 25.0, wall - 2.0))
        rig.interlock.pump()
    guard = rig.interlock.guard("s1")
    assert guard.stop_reason is StopReason.NO_VALID_READING
    stale = [
        e
        for e in entries_of(rig.journal, "s1", ["reading"])
        if e.payload["invalid_reason"] == "stale"
    ]
    assert len(stale) >= 10


def test_a_value_stuck_while_the_planned_curve_changes_is_invalid_and_stops(ram_dir):
    curve = PlannedCurve(
        tuple(float(t) for t in range(0, 121)),
        tuple(5.0 + 28.0 * math.exp(-t / 20.0) for t in range(0, 121)),
    )
    rig = make_rig(
        ram_dir,
        face=LumpedFace(cold_temp_c=5.0, tau_s=20.0),
        fault=Fault("stuck", start_s=5.0),
        planned_curve=curve,
    )
    rig.run_until_stopped()
    guard = rig.interlock.guard("s1")
    assert guard.stop_reason is StopReason.NO_VALID_READING
    # Stuck from 5 s, judged stuck once 3 s of constant values are seen, stopped 1 s later.
    assert 8.0 < guard.t_s(guard.stop_at_s) < 9.5
    reasons = {e.payload["invalid_reason"] for e in entries_of(rig.journal, "s1", ["reading"])}
    assert "stuck" in reasons


def test_a_steady_reading_is_not_stuck_when_the_plan_is_steady_too(ram_dir):
    curve = PlannedCurve((0.0, 120.0), (20.0, 20.0))
    rig = make_rig(
        ram_dir,
        face=LumpedFace(start_temp_c=20.0, cold_temp_c=20.0),
        planned_curve=curve,
        planned_duration_s=20.0,
    )
    rig.run_until_stopped()
    assert rig.interlock.guard("s1").stop_reason is StopReason.PLAN_COMPLETE


def test_a_warm_drift_hides_cold_skin_but_the_exposure_timer_still_stops_it(ram_dir):
    rig = make_rig(
        ram_dir,
        face=LumpedFace(cold_temp_c=-10.0, tau_s=30.0),
        fault=Fault("drift", start_s=2.0, magnitude=0.6),
    )
    rig.run_until_stopped()
    guard = rig.interlock.guard("s1")
    assert guard.stop_reason is StopReason.TIMER
    true_min = min(temp for _, temp in rig.device.log.true_temps)
    assert true_min < limits().floor_temp_c < guard.min_valid_temp_c


def test_a_reading_from_a_device_without_a_session_is_answered_with_stop(ram_dir):
    rig = make_rig(ram_dir)
    stray = []
    rig.transport.attach(
        type(
            "Stray",
            (),
            {
                "device_id": "dev-9",
                "on_command": lambda self, c, d: stray.append((c, d)),
                "on_heartbeat": lambda self, w: None,
                "on_ack": lambda self, s, j: None,
            },
        )()
    )
    rig.transport.publish_reading(Reading("dev-9", 1, 30.0, rig.clock.wall_time_s()))
    rig.interlock.pump()
    assert stray == [(DeviceCommand.STOP, {"reason": "no-session"})]


def test_acknowledgement_needs_a_named_user_and_is_recorded(ram_dir):
    rig = make_rig(
        ram_dir, face=LumpedFace(cold_temp_c=2.5, tau_s=5.0), session_limits=limits(**NO_FORECAST)
    )
    rig.run_for(25.0)
    (warning,) = alarms_of(rig, "warning-temp")
    with pytest.raises(InvalidInterlockInput, match="named user"):
        rig.interlock.acknowledge("s1", warning.alarm_id, by_user="  ")
    with pytest.raises(UnknownAlarm):
        rig.interlock.acknowledge("s1", "s1/99", by_user="alice")
    with pytest.raises(UnknownSession):
        rig.interlock.acknowledge("s9", warning.alarm_id, by_user="alice")
    rig.interlock.acknowledge("s1", warning.alarm_id, by_user="alice")
    (warning,) = alarms_of(rig, "warning-temp")
    assert warning.acknowledged_by == "alice"
    (ack,) = entries_of(rig.journal, "s1", ["alarm-ack"])
    assert ack.payload == {"alarm_id": warning.alarm_id, "by_user": "alice"}


def test_audio_pause_is_limited_in_time(ram_dir):
    rig = make_rig(
        ram_dir, face=LumpedFace(cold_temp_c=2.5, tau_s=5.0), session_limits=limits(**NO_FORECAST)
    )
    rig.run_for(25.0)
    (warning,) = alarms_of(rig, "warning-temp")
    with pytest.raises(InvalidInterlockInput, match="at most 120"):
        rig.interlock.silence("s1", warning.alarm_id, by_user="alice", duration_s=600)
    rig.interlock.silence("s1", warning.alarm_id, by_user="alice", duration_s=60)
    (warning,) = alarms_of(rig, "warning-temp")
    assert warning.silenced_until_t_s == pytest.approx(25.0 + 60.0, abs=0.02)


def test_resuming_with_an_unacknowledged_alarm_is_an_override_on_record(ram_dir):
    rig = make_rig(
        ram_dir, face=LumpedFace(cold_temp_c=2.5, tau_s=5.0), session_limits=limits(**NO_FORECAST)
    )
    rig.run_for(25.0)
    rig.interlock.pause("s1", by_user="alice")
    rig.interlock.resume("s1", by_user="bob")
    (override,) = entries_of(rig.journal, "s1", ["override"])
    assert override.payload["by_user"] == "bob" and override.payload["action"] == "resume"
    assert [c for _, c, _ in rig.device.log.commands] == [DeviceCommand.PAUSE, DeviceCommand.RESUME]


def test_actions_that_the_session_state_forbids_are_refused(ram_dir):
    rig = make_rig(ram_dir)
    with pytest.raises(ActionRefused):
        rig.interlock.resume("s1", by_user="alice")
    rig.interlock.stop("s1", by_user="alice")
    with pytest.raises(ActionRefused):
        rig.interlock.pause("s1", by_user="alice")
    guard = rig.interlock.guard("s1")
    assert guard.stop_reason is StopReason.OPERATOR
    (stop,) = entries_of(rig.journal, "s1", ["stop"])
    assert stop.payload["by_user"] == "alice" and stop.payload["reason"] == "operator"


def test_a_stopped_device_that_keeps_sending_is_told_to_stop_again(ram_dir):
    rig = make_rig(ram_dir)
    rig.interlock.stop("s1", by_user="alice")
    rig.device.state = "running"  # as if the first stop command had been lost
    rig.run_for(1.0)
    assert rig.device.state == "stopped"
    assert sum(1 for _, c, _ in rig.device.log.commands if c is DeviceCommand.STOP) >= 2


def test_a_fault_while_handling_a_message_stops_that_device_and_the_loop_goes_on(ram_dir):
    rig = make_rig(ram_dir, face=LumpedFace(cold_temp_c=20.0))

    def broken_factory(device_id, status):
        raise RuntimeError("planner exploded")

    rig.interlock.session_factory = broken_factory
    stray = []
    rig.transport.attach(
        type(
            "Stray",
            (),
            {
                "device_id": "dev-7",
                "on_command": lambda self, c, d: stray.append((c, d)),
                "on_heartbeat": lambda self, w: None,
                "on_ack": lambda self, s, j: None,
            },
        )()
    )
    rig.transport.publish_status("dev-7", {"state": "running", "session_id": "s7"})
    rig.run_for(1.0)
    assert stray[0] == (DeviceCommand.STOP, {"reason": "interlock-fault"})
    (fault,) = [e for e in rig.journal.read_after(0, 10_000) if e.kind == "interlock-fault"]
    assert "planner exploded" in fault.payload["error"]
    assert rig.interlock.guard("s1").stop_reason is None  # the other session runs on


def test_sensor_noise_on_skin_far_from_the_floor_raises_nothing_and_the_plan_ends(ram_dir):
    rig = make_rig(
        ram_dir,
        face=LumpedFace(cold_temp_c=15.0, tau_s=10.0),
        fault=Fault("noise", start_s=0.0, magnitude=0.3, seed=3),
        planned_duration_s=40.0,
    )
    rig.run_until_stopped()
    guard = rig.interlock.guard("s1")
    assert guard.stop_reason is StopReason.PLAN_COMPLETE
    assert guard.alarms == ()


def test_acknowledging_a_stop_alarm_closes_it_but_a_warning_stays_active_while_it_lasts(ram_dir):
    rig = make_rig(
        ram_dir,
        face=LumpedFace(cold_temp_c=2.5, tau_s=5.0),
        session_limits=limits(**NO_FORECAST),
        fault=Fault("nan", start_s=25.5),
    )
    rig.run_for(25.0)
    (warning,) = alarms_of(rig, "warning-temp")
    rig.interlock.acknowledge("s1", warning.alarm_id, by_user="alice")
    (warning,) = alarms_of(rig, "warning-temp")
    assert warning.active and warning.acknowledged_by == "alice"
    rig.run_until_stopped()
    (technical,) = alarms_of(rig, "no-valid-reading")
    rig.interlock.acknowledge("s1", technical.alarm_id, by_user="bob")
    (technical,) = alarms_of(rig, "no-valid-reading")
    assert not technical.active and technical.acknowledged_by == "bob"
