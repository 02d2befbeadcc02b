"""The session state machine under any sequence of readings, time, and operator actions
(hypothesis stateful testing, as docs/interlock.md requires).

Whatever happens, these hold after every step:
- a stop holds: a stopped session stays stopped with the same reason, and its device has
  been told to stop, until a named user resumes the zone with a reason, which is accepted
  only with every latching alarm acknowledged, exposure left, and a current valid reading
  above the warning temperature; an ended session stays ended;
- a valid reading at or below the floor while the cold is allowed stops the session;
- with the cold allowed, the exposure never exceeds the maximum, and no more than the
  no-valid-reading timeout passes without a valid reading (each by at most one tick);
- a paused session's device was last told to pause; every alarm is in the journal.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from cryoderm.interlock.clock import ManualClock
from cryoderm.interlock.embedded import EmbeddedTransport
from cryoderm.interlock.errors import ActionRefused
from cryoderm.interlock.journal import Journal, entries_of
from cryoderm.interlock.model import DeviceCommand, Reading, SessionSpec, SessionState, StopReason
from cryoderm.interlock.runtime import Interlock

from .helpers import limits

LIMITS = limits(max_exposure_s=20.0)
TICK_S = 0.05
ARMED = (SessionState.RUNNING, SessionState.PAUSED)

temperatures = st.one_of(
    st.floats(min_value=-5.0, max_value=40.0),
    st.sampled_from([None, math.nan, -80.0, 90.0, LIMITS.floor_temp_c, LIMITS.warning_temp_c]),
)


class Device:
    device_id = "dev-h"

    def __init__(self) -> None:
        self.commands: list[DeviceCommand] = []

    def on_command(self, command, detail):
        self.commands.append(command)

    def on_heartbeat(self, wall_time_s):
        return

    def on_ack(self, device_seq, journal_seq):
        return


class SessionStates(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        base = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
        self.dir = Path(tempfile.mkdtemp(prefix="cryoderm-states-", dir=base))
        self.clock = ManualClock()
        self.journal = Journal(self.dir)
        self.transport = EmbeddedTransport()
        self.device = Device()
        self.transport.attach(self.device)
        self.interlock = Interlock(self.journal, [self.transport], clock=self.clock, tick_s=TICK_S)
        self.interlock.open()
        self.interlock.start_session(SessionSpec("s-h", "dev-h", "cheek", "ln2-vapour", LIMITS))
        self.guard = self.interlock.guard("s-h")
        self.seq = 0
        self.stopped_reason: StopReason | None = None
        self.floor_seen_running = False
        self.ended = False

    def teardown(self) -> None:
        self.journal.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _advance(self, duration_s: float) -> None:
        # The loop runs at least every tick, as the threaded interlock does.
        remaining = duration_s
        while remaining > 1e-9:
            step = min(TICK_S, remaining)
            self.clock.advance(step)
            remaining -= step
            self.interlock.pump()

    @rule(temp=temperatures, age_s=st.sampled_from([0.0, 0.0, 0.0, 0.5, 3.0]))
    def reading(self, temp, age_s):
        self.seq += 1
        state_before = self.guard.state
        self.transport.publish_reading(
            Reading("dev-h", self.seq, temp, self.clock.wall_time_s() - age_s)
        )
        self.interlock.pump()
        valid = temp is not None and not math.isnan(temp) and -30.0 <= temp <= 45.0 and age_s <= 1.0
        if valid and temp <= LIMITS.floor_temp_c and state_before in ARMED:
            self.floor_seen_running = True

    @rule(duration_s=st.floats(min_value=0.01, max_value=3.0))
    def time_passes(self, duration_s):
        self._advance(duration_s)

    @rule(
        duration_s=st.floats(min_value=0.05, max_value=1.0),
        temp=st.floats(min_value=10.0, max_value=35.0),
    )
    def steady_readings(self, duration_s, temp):
        for _ in range(max(1, int(duration_s / 0.1))):
            self.seq += 1
            self.transport.publish_reading(
                Reading("dev-h", self.seq, temp, self.clock.wall_time_s())
            )
            self._advance(0.1)

    @rule()
    def pause(self):
        try:
            self.interlock.pause("s-h", by_user="alice")
        except ActionRefused:
            assert self.guard.state is not SessionState.RUNNING

    @rule()
    def resume(self):
        try:
            self.interlock.resume("s-h", by_user="bob")
        except ActionRefused:
            assert self.guard.state is not SessionState.PAUSED

    @rule()
    def operator_stop(self):
        self.interlock.stop("s-h", by_user="alice")

    @rule()
    def resume_after_stop(self):
        now = self.clock.now_s()
        guard = self.guard
        latest = guard._recent[-1] if guard._recent else None
        allowed = (
            guard.state is SessionState.STOPPED
            and not [a for a in guard.alarms if a.latching and a.active]
            and guard.exposure_s(now) < LIMITS.max_exposure_s
            and latest is not None
            and now - latest[0] <= LIMITS.no_valid_reading_s
            and latest[1] > LIMITS.warning_temp_c
        )
        try:
            self.interlock.resume_after_stop("s-h", by_user="dana", reason="client ready")
        except ActionRefused:
            assert not allowed
            return
        assert allowed
        assert self.device.commands[-1] is DeviceCommand.RESUME
        self.stopped_reason = None
        self.floor_seen_running = False

    @rule()
    def end(self):
        self.interlock.end("s-h", by_user="erin", reason="done")
        self.ended = True

    @precondition(lambda self: self.guard.alarms)
    @rule(data=st.data())
    def acknowledge(self, data):
        alarm = data.draw(st.sampled_from(self.guard.alarms))
        self.interlock.acknowledge("s-h", alarm.alarm_id, by_user="carol")

    @invariant()
    def a_stop_holds_until_resumed_and_reaches_the_device(self):
        if self.ended:
            assert self.guard.state is SessionState.ENDED
            return
        if self.stopped_reason is not None:
            assert self.guard.state is SessionState.STOPPED
            assert self.guard.stop_reason is self.stopped_reason
        if self.guard.state is SessionState.STOPPED:
            self.stopped_reason = self.guard.stop_reason
            assert self.device.commands[-1] is DeviceCommand.STOP

    @invariant()
    def a_floor_reading_stops(self):
        if self.floor_seen_running:
            assert self.guard.state in (SessionState.STOPPED, SessionState.ENDED)

    @invariant()
    def timers_hold_while_the_cold_is_allowed(self):
        if self.guard.state not in ARMED:
            return
        now = self.clock.now_s()
        assert self.guard.exposure_s(now) <= LIMITS.max_exposure_s + TICK_S + 1e-6
        assert now <= self.guard.no_valid_reading_deadline_s() + TICK_S + 1e-6

    @invariant()
    def a_paused_device_was_last_told_to_pause(self):
        if self.guard.state is SessionState.PAUSED:
            assert self.device.commands[-1] is DeviceCommand.PAUSE

    @invariant()
    def every_alarm_is_recorded(self):
        recorded = {e.payload["alarm_id"] for e in entries_of(self.journal, "s-h", ["alarm"])}
        assert {a.alarm_id for a in self.guard.alarms} <= recorded


TestSessionStates = SessionStates.TestCase
TestSessionStates.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
