"""One device, one stream: a reading that does not follow its device's stream (a jump no
device could make, a seq already judged with other content, a device that starts again at
1) is a technical alarm and a fail-safe stop, never a silent drop; an exact repeat (a
retransmission) is recorded once and changes nothing."""

from __future__ import annotations

import pytest

from cryoderm.interlock.errors import ActionRefused
from cryoderm.interlock.guard import SessionGuard
from cryoderm.interlock.journal import entries_of
from cryoderm.interlock.model import (
    AlarmCategory,
    AlarmPriority,
    DeviceCommand,
    Reading,
    SessionSpec,
    StopReason,
)

from .helpers import LumpedFace, limits, make_rig


def warm_rig(ram_dir):
    rig = make_rig(ram_dir, face=LumpedFace(cold_temp_c=25.0, tau_s=30.0))
    rig.run_for(2.0)
    return rig


def send(rig, reading):
    rig.transport.publish_reading(reading)
    rig.interlock.pump()


def technical_alarm(rig, condition):
    (alarm,) = [a for a in rig.interlock.guard("s1").alarms if a.condition == condition]
    assert alarm.priority is AlarmPriority.HIGH and alarm.category is AlarmCategory.TECHNICAL
    assert alarm.latching
    return alarm


def test_an_exact_repeat_is_a_retransmission_recorded_once(ram_dir):
    rig = warm_rig(ram_dir)
    last = rig.device.log.sent[-1]
    send(rig, last)
    guard = rig.interlock.guard("s1")
    assert guard.stop_reason is None and not guard.alarms
    seqs = [e.payload["seq"] for e in entries_of(rig.journal, "s1", ["reading"])]
    assert seqs.count(last.seq) == 1


@pytest.mark.parametrize(
    "make",
    [
        lambda last, now: Reading("dev-1", last.seq, 31.0, last.sampled_wall_time_s),
        lambda last, now: Reading("dev-1", last.seq - 3, 30.0, now),
        lambda last, now: Reading("dev-1", 1, 30.0, now),  # the device started again
    ],
    ids=["same-seq-other-value", "older-seq-not-a-repeat", "seq-back-to-1"],
)
def test_a_reading_that_contradicts_the_stream_stops_the_cold(ram_dir, make):
    rig = warm_rig(ram_dir)
    send(rig, make(rig.device.log.sent[-1], rig.clock.wall_time_s()))
    guard = rig.interlock.guard("s1")
    assert guard.stop_reason is StopReason.TECHNICAL_FAULT
    technical_alarm(rig, "stream-contradiction")
    assert rig.device.state == "stopped"
    (stop,) = entries_of(rig.journal, "s1", ["stop"])
    assert stop.payload["detail"] == "stream-contradiction"


def test_a_seq_that_runs_ahead_of_the_device_stops_the_cold_and_is_not_judged(ram_dir):
    rig = warm_rig(ram_dir)
    last = rig.device.log.sent[-1].seq
    # A few lost readings are a plausible gap (50 per s over 0.1 s, plus 20).
    send(rig, Reading("dev-1", last + 10, 25.0, rig.clock.wall_time_s()))
    assert rig.interlock.guard("s1").stop_reason is None
    send(rig, Reading("dev-1", 10**9, 30.0, rig.clock.wall_time_s()))
    guard = rig.interlock.guard("s1")
    assert guard.stop_reason is StopReason.TECHNICAL_FAULT
    technical_alarm(rig, "sequence-jump")
    (spoofed,) = [
        e for e in entries_of(rig.journal, "s1", ["reading"]) if e.payload["seq"] == 10**9
    ]
    assert spoofed.payload["valid"] is False
    assert spoofed.payload["invalid_reason"] == "sequence-jump"
    # The stream goes on from the last reading that belonged: the next one is no alarm.
    send(rig, Reading("dev-1", last + 11, 25.0, rig.clock.wall_time_s()))
    assert len(guard.alarms) == 1


def test_a_technical_stop_is_resumed_only_once_its_alarm_is_acknowledged(ram_dir):
    rig = warm_rig(ram_dir)
    send(rig, Reading("dev-1", 10**9, 30.0, rig.clock.wall_time_s()))
    alarm = technical_alarm(rig, "sequence-jump")
    rig.run_for(0.3)
    with pytest.raises(ActionRefused, match=alarm.alarm_id):
        rig.interlock.resume_after_stop("s1", "alice", "checked the device")
    rig.interlock.acknowledge("s1", alarm.alarm_id, by_user="alice")
    rig.interlock.resume_after_stop("s1", "alice", "checked the device")
    assert rig.interlock.guard("s1").stop_reason is None


def test_a_fresh_reading_after_an_unobserved_timer_deadline_does_not_rescue_the_session():
    """The interlock frozen (SIGSTOP, a paused machine) past the no-valid-reading limit and
    thawed: the first thing judged is a fresh, valid, warm reading. The session had no
    guard for longer than the limit: it stops, whatever the order of reading and tick."""
    spec = SessionSpec("s-late", "dev-late", "cheek", "cold-air", limits())
    guard = SessionGuard(spec, 0.0)
    for n in range(1, 11):
        assert guard.on_reading(Reading("dev-late", n, 30.0, 0.0), n * 0.1).command is None
    late_s = 1.0 + spec.limits.no_valid_reading_s + 0.5  # no tick meanwhile
    outcome = guard.on_reading(Reading("dev-late", 11, 30.0, 0.0), late_s)
    assert outcome.command is DeviceCommand.STOP
    assert outcome.stop_reason is StopReason.NO_VALID_READING
    assert [e.kind for e in outcome.events].count("reading") == 1  # still recorded


def test_a_timer_stop_found_at_a_reading_records_how_late_it_is(ram_dir):
    """The stop's latency is measured from the deadline that passed unobserved, not from
    the reading that found it (which would make a stop seconds late look immediate)."""
    rig = warm_rig(ram_dir)
    guard = rig.interlock.guard("s1")
    deadline_s = guard.no_valid_reading_deadline_s()
    rig.clock.advance(deadline_s - rig.clock.now_s() + 1.5)  # frozen: no tick, no reading
    rig.device.step()  # the next reading is judged before the loop's late tick
    rig.interlock.pump()
    (stop,) = entries_of(rig.journal, "s1", ["stop"])
    assert stop.payload["reason"] == "no-valid-reading"
    assert stop.payload["stop_latency_ms"] >= 1400.0
