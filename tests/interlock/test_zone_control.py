"""Per-zone control: STOP stops the cold now; the practitioner may resume the zone (a named
user, a reason, latching alarms acknowledged, the skin rewarmed, within the zone's exposure
limit, all of it counting) or end it; the device's next session closes a stopped one.

The rig: a simulated device on a lumped test face, the real interlock and journal, a
controlled clock (tests/interlock/helpers.py).
"""

from __future__ import annotations

import pytest

from cryoderm.interlock.control import ControlClient, apply_command, journal_command_poll
from cryoderm.interlock.errors import ActionRefused, InvalidInterlockInput, UnknownSession
from cryoderm.interlock.journal import entries_of
from cryoderm.interlock.model import DeviceCommand, SessionSpec, SessionState, StopReason
from cryoderm.interlock.service import spec_from_body

from .helpers import LumpedFace, limits, make_rig

NO_FORECAST = {"prediction_min_readings": 10_000}


def stop_by_alice(rig, reason="client flinched"):
    rig.interlock.stop("s1", by_user="alice", reason=reason)
    rig.run_for(0.2)


def test_a_stopped_zone_resumes_with_a_reason_and_its_exposure_keeps_counting(ram_dir):
    rig = make_rig(ram_dir, face=LumpedFace(cold_temp_c=20.0, tau_s=30.0))
    rig.run_for(5.0)
    stop_by_alice(rig)
    guard = rig.interlock.guard("s1")
    assert guard.state is SessionState.STOPPED and rig.device.state == "stopped"
    exposure_at_stop = guard.exposure_s(rig.clock.now_s())
    rig.run_for(3.0)  # stopped time is not exposure
    assert guard.exposure_s(rig.clock.now_s()) == pytest.approx(exposure_at_stop)

    rig.interlock.resume_after_stop("s1", by_user="alice", reason="client ready again")
    rig.run_for(0.2)
    assert guard.state is SessionState.RUNNING and rig.device.state == "running"
    assert rig.device.log.commands[-1][1] is DeviceCommand.RESUME
    (resumed,) = entries_of(rig.journal, "s1", ["resume-after-stop"])
    assert resumed.payload == {
        "by_user": "alice",
        "reason": "client ready again",
        "stop_reason": "operator",
        "exposure_s": pytest.approx(exposure_at_stop, abs=1e-6),
    }
    (stop,) = entries_of(rig.journal, "s1", ["stop"])
    assert stop.payload["detail"] == "client flinched"
    # The exposure timer counts what was delivered before the stop.
    max_s = guard.limits.max_exposure_s
    rig.run_until_stopped()
    assert guard.stop_reason is StopReason.TIMER
    assert guard.exposure_s(guard.stop_at_s) == pytest.approx(max_s, abs=0.06)
    assert guard.t_s(guard.stop_at_s) == pytest.approx(max_s + 3.2, abs=0.1)


def test_resume_after_a_stop_needs_a_named_user_and_a_reason(ram_dir):
    rig = make_rig(ram_dir, face=LumpedFace(cold_temp_c=20.0, tau_s=30.0))
    rig.run_for(2.0)
    stop_by_alice(rig)
    with pytest.raises(InvalidInterlockInput, match="named user"):
        rig.interlock.resume_after_stop("s1", by_user=" ", reason="ready")
    with pytest.raises(InvalidInterlockInput, match="reason"):
        rig.interlock.resume_after_stop("s1", by_user="alice", reason="")
    assert rig.interlock.guard("s1").state is SessionState.STOPPED


def test_after_a_floor_stop_the_alarm_must_be_acknowledged_and_the_skin_rewarmed(ram_dir):
    rig = make_rig(
        ram_dir,
        face=LumpedFace(cold_temp_c=-10.0, tau_s=10.0, warm_tau_s=2.0),
        session_limits=limits(**NO_FORECAST),
    )
    rig.run_until_stopped()
    guard = rig.interlock.guard("s1")
    assert guard.stop_reason is StopReason.FLOOR
    (floor,) = [a for a in guard.alarms if a.condition == "floor"]
    with pytest.raises(ActionRefused, match=f"acknowledge the alarms {floor.alarm_id}"):
        rig.interlock.resume_after_stop("s1", "alice", "checked the skin")
    rig.interlock.acknowledge("s1", floor.alarm_id, by_user="alice")
    with pytest.raises(ActionRefused, match="at or below the warning temperature"):
        rig.interlock.resume_after_stop("s1", "alice", "checked the skin")
    rig.run_for(6.0)  # the skin rewarms (and the device keeps reporting it)
    rig.interlock.resume_after_stop("s1", "alice", "checked the skin")
    rig.run_for(0.2)
    assert guard.state is SessionState.RUNNING and rig.device.state == "running"
    # The rules are armed again: the cold reaches the floor again and is stopped again.
    rig.run_until_stopped()
    assert guard.stop_reason is StopReason.FLOOR
    assert len([a for a in guard.alarms if a.condition == "floor"]) == 2


def test_a_zone_without_a_current_valid_reading_is_not_resumed_blind(ram_dir):
    rig = make_rig(ram_dir, face=LumpedFace(cold_temp_c=20.0, tau_s=30.0))
    rig.run_for(2.0)
    stop_by_alice(rig)
    rig.clock.advance(2.0)  # nothing from the device for 2 s
    rig.interlock.pump()
    with pytest.raises(ActionRefused, match="no valid skin reading"):
        rig.interlock.resume_after_stop("s1", "alice", "ready")


def test_a_zone_that_reached_its_exposure_limit_or_its_plan_cannot_be_resumed(ram_dir):
    rig = make_rig(ram_dir, face=LumpedFace(cold_temp_c=20.0, tau_s=30.0), planned_duration_s=3.0)
    rig.run_until_stopped()
    guard = rig.interlock.guard("s1")
    assert guard.stop_reason is StopReason.PLAN_COMPLETE
    with pytest.raises(ActionRefused, match=r"had 3\.\d s of its 3 s of exposure"):
        rig.interlock.resume_after_stop("s1", "alice", "one more pass")


def test_an_ended_zone_is_closed_for_good_and_the_next_session_closes_a_stopped_one(ram_dir):
    rig = make_rig(ram_dir, face=LumpedFace(cold_temp_c=20.0, tau_s=30.0))
    rig.run_for(2.0)
    rig.interlock.end("s1", by_user="alice", reason="client asked to stop")
    rig.run_for(0.2)
    guard = rig.interlock.guard("s1")
    assert guard.state is SessionState.ENDED and rig.device.state == "stopped"
    kinds = [e.kind for e in entries_of(rig.journal, "s1", ["stop", "session-ended"])]
    assert kinds == ["stop", "session-ended"]
    with pytest.raises(ActionRefused, match="ended, not stopped"):
        rig.interlock.resume_after_stop("s1", "alice", "changed her mind")

    # Next zone on the same device: s2 runs; when it is stopped and s3 starts, s2 is ended.
    spec2 = SessionSpec("s2", "dev-1", "forehead", "ln2-vapour", limits())
    rig.interlock.start_session(spec2)
    rig.interlock.stop("s2", by_user="alice")
    rig.interlock.start_session(SessionSpec("s3", "dev-1", "forehead", "ln2-vapour", limits()))
    (ended,) = entries_of(rig.journal, "s2", ["session-ended"])
    assert ended.payload["reason"] == "the device's next session started"
    assert rig.interlock.guard("s2").state is SessionState.ENDED
    with pytest.raises(ActionRefused, match="still running"):
        rig.interlock.start_session(SessionSpec("s4", "dev-1", "chin", "ln2-vapour", limits()))


def test_exposure_delivered_in_an_earlier_session_of_the_zone_counts(ram_dir):
    rig = make_rig(ram_dir, face=LumpedFace(cold_temp_c=20.0, tau_s=30.0))
    rig.interlock.stop("s1", by_user="alice")
    max_s = rig.interlock.guard("s1").limits.max_exposure_s
    spec = SessionSpec(
        "s1-again", "dev-1", "cheek", "ln2-vapour", limits(), delivered_exposure_s=max_s - 1.0
    )
    rig.interlock.start_session(spec)
    rig.run_for(1.5)
    guard = rig.interlock.guard("s1-again")
    assert guard.stop_reason is StopReason.TIMER
    assert guard.t_s(guard.stop_at_s) == pytest.approx(1.0, abs=0.06)
    with pytest.raises(ActionRefused, match="limit"):
        rig.interlock.start_session(
            SessionSpec(
                "s1-late", "dev-1", "cheek", "ln2-vapour", limits(), delivered_exposure_s=max_s
            )
        )


def test_control_commands_report_their_outcome(ram_dir):
    rig = make_rig(ram_dir, face=LumpedFace(cold_temp_c=20.0, tau_s=30.0))
    rig.interlock.set_command_poll(journal_command_poll(rig.interlock, spec_from_body))
    with ControlClient(ram_dir / "journal") as control:
        rig.run_for(1.0)
        stopped = control.stop("s1", "alice", reason="flinch")
        no_reason = control.resume_after_stop("s1", "alice", "")
        unknown = control.end("nope", "alice", "typo")
        assert control.outcome(stopped).status == "pending"
        rig.run_for(0.2)
        resumed = control.resume_after_stop("s1", "alice", "ready")
        rig.run_for(0.2)
        ended = control.end("s1", "alice", "done")
        rig.run_for(0.2)
        assert control.outcome(stopped).status == "applied"
        assert control.outcome(resumed).status == "applied"
        assert control.outcome(ended).status == "applied"
        refused = control.outcome(no_reason)
        assert refused.status == "rejected" and "reason" in refused.error
        assert "not guarded" in control.outcome(unknown).error
    kinds = [e.kind for e in entries_of(rig.journal, "s1", ["stop", "resume-after-stop"])]
    assert kinds[:3] == ["stop", "resume-after-stop", "stop"]


def test_apply_command_names_the_field_that_is_not_text(ram_dir):
    from cryoderm.interlock.clock import ManualClock
    from cryoderm.interlock.journal import Journal
    from cryoderm.interlock.runtime import Interlock

    with Journal(ram_dir / "journal") as journal:
        interlock = Interlock(journal, [], clock=ManualClock())
        with pytest.raises(InvalidInterlockInput, match="user"):
            apply_command(
                interlock, {"action": "stop", "session_id": "s", "user": ["a"]}, spec_from_body
            )
        with pytest.raises(UnknownSession):
            apply_command(
                interlock,
                {"action": "resume_after_stop", "session_id": "s", "user": "a", "reason": "r"},
                spec_from_body,
            )
