"""The rules of one live session (docs/interlock.md, IL-2 to IL-4 and IL-6), as a pure state machine.

A :class:`SessionGuard` is fed readings, clock ticks and operator actions, each with the
current time of the interlock's clock; it answers with an :class:`Outcome`: the command the
device must get *now* (stop, pause, resume or nothing) and the events to record. It does no
I/O and reads no clock, so every rule is tested with a controlled clock. The runtime
(:mod:`cryoderm.interlock.runtime`) sends the command first and records after.

Rules:
- floor (IL-2): a valid reading at or below ``floor_temp_c`` -> stop, high-priority alarm.
- predicted floor: the forecast (:mod:`cryoderm.interlock.predict`) reaches the floor within
  ``predicted_stop_within_s`` -> stop, high-priority alarm; within ``prediction_horizon_s``
  for ``warning_persist_s`` -> medium-priority warning ahead of the floor.
- warning temperature: a valid reading at or below ``warning_temp_c`` -> medium warning.
  Warnings are non-latching: they clear after ``warning_clear_after_s`` without the condition.
- exposure timer (IL-4): exposure time (pauses excluded) reaching ``max_exposure_s`` -> stop
  whatever the temperature, low-priority alarm; the plan's end -> stop ``plan-complete``.
- no valid reading (IL-3) for ``no_valid_reading_s`` (none at all, NaN, out of range,
  stale, stamped in the future beyond ``max_clock_skew_s``, or stuck while the planned
  curve must change) -> fail-safe stop, high-priority
  technical alarm.
- alarms are acknowledged by a named user; audio pause is limited to ``silence_max_s``;
  resuming with an unacknowledged alarm is an override; all are recorded (IL-6).
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from dataclasses import dataclass, replace
from typing import Any

from cryoderm.data.labels import celsius, label
from cryoderm.interlock.errors import ActionRefused, InvalidInterlockInput, UnknownAlarm
from cryoderm.interlock.model import (
    Alarm,
    AlarmCategory,
    AlarmPriority,
    DeviceCommand,
    Event,
    InvalidReason,
    Reading,
    SessionSpec,
    SessionState,
    StopReason,
)
from cryoderm.interlock.predict import Forecast, forecast


@dataclass(frozen=True)
class Outcome:
    """The answer of the guard to one input: a device command to send now, events to record."""

    command: DeviceCommand | None = None
    events: tuple[Event, ...] = ()
    stop_reason: StopReason | None = None


@dataclass(frozen=True)
class Verdict:
    """How one reading was judged: valid, or invalid and why."""

    valid: bool
    reason: InvalidReason | None = None


_NO_CHANGE = Outcome()


# The longest reason text kept on record for a stop, a resume or an end.
_REASON_MAX_CHARS = 500


def _optional_reason(reason: str | None) -> str | None:
    if reason is None or (isinstance(reason, str) and not reason.strip()):
        return None
    return _required_reason(reason, "stop")


def _required_reason(reason: str, action: str) -> str:
    text = reason.strip() if isinstance(reason, str) else ""
    if not text or len(text) > _REASON_MAX_CHARS:
        raise InvalidInterlockInput(
            f"reason = {reason!r:.60}: {action} requires a reason of 1 to {_REASON_MAX_CHARS} "
            "characters"
        )
    return text


def _named_user(user: str, action: str) -> str:
    name = user.strip() if isinstance(user, str) else ""
    if not name:
        raise InvalidInterlockInput(f"user = {user!r}: {action} requires a named user")
    return name


class SessionGuard:
    """The live rules of one session; see the module docstring. Not thread-safe by itself:
    the runtime serialises every call for a session."""

    def __init__(self, spec: SessionSpec, started_at_s: float) -> None:
        self.spec = spec
        self.limits = spec.limits
        self.started_at_s = started_at_s
        self.state = SessionState.RUNNING
        self.stop_reason: StopReason | None = None
        self.stop_at_s: float | None = None
        self.last_valid_at_s: float | None = None
        self.last_seq: int | None = None
        self._last_arrival_s: float | None = None
        # What came under each recent seq: a repeat must be identical to be a retransmission.
        self._by_seq: OrderedDict[int, tuple[Any, float]] = OrderedDict()
        self.min_valid_temp_c: float | None = None
        self.readings = 0
        self.last_forecast: Forecast | None = None
        self._exposure_before_s = spec.delivered_exposure_s
        self._running_since_s: float | None = started_at_s
        self._recent: deque[tuple[float, float]] = deque()
        self._alarms: dict[str, Alarm] = {}
        self._active_by_condition: dict[str, str] = {}
        self._present_since: dict[str, float] = {}
        self._absent_since: dict[str, float] = {}

    # -- queries ------------------------------------------------------------------------
    @property
    def armed(self) -> bool:
        """The cold may be on or come back on (running, paused): the rules act."""
        return self.state is SessionState.RUNNING or self.state is SessionState.PAUSED

    def t_s(self, now_s: float) -> float:
        """Session time: seconds since the session started."""
        return now_s - self.started_at_s

    def exposure_s(self, now_s: float) -> float:
        """Time the cold has been allowed (pauses and time after a stop excluded)."""
        running = now_s - self._running_since_s if self._running_since_s is not None else 0.0
        return self._exposure_before_s + running

    @property
    def alarms(self) -> tuple[Alarm, ...]:
        return tuple(self._alarms.values())

    def no_valid_reading_deadline_s(self) -> float:
        if self.last_valid_at_s is None:
            return self.started_at_s + self.limits.first_reading_grace_s
        return self.last_valid_at_s + self.limits.no_valid_reading_s

    # -- inputs ---------------------------------------------------------------------------
    def judge(self, reading: Reading, now_s: float, age_s: float) -> Verdict:
        """Is this reading valid? (IL-3: missing, NaN, out of range, stale, stamped in the
        future, stuck.) age_s: now minus the time it was sampled (negative: from the
        future, as seen from a device whose clock is ahead)."""
        value = reading.skin_temp_c
        if value is None:
            return Verdict(False, InvalidReason.MISSING)
        if math.isnan(value):
            return Verdict(False, InvalidReason.NOT_A_NUMBER)
        if not self.limits.valid_min_c <= value <= self.limits.valid_max_c:
            return Verdict(False, InvalidReason.OUT_OF_RANGE)
        if age_s > self.limits.no_valid_reading_s:
            return Verdict(False, InvalidReason.STALE)
        if age_s < -self.limits.max_clock_skew_s:
            return Verdict(False, InvalidReason.FUTURE)
        if self._is_stuck(value, now_s - max(age_s, 0.0)):
            return Verdict(False, InvalidReason.STUCK)
        return Verdict(True)

    def on_reading(self, reading: Reading, now_s: float, age_s: float = 0.0) -> Outcome:
        """A reading arrived at ``now_s``, taken ``age_s`` seconds earlier (by the device's
        stamp; negative if the stamp is ahead of the interlock's clock). A reading that
        does not belong to the device's stream is a technical alarm (:meth:`_off_stream`);
        an exact repeat of one already judged (a retransmission) changes nothing.

        The timers are due first: a reading that arrives after a timer's deadline passed
        unobserved (the interlock frozen or starved of the CPU, its tick late) must not
        rescue the session. Without this, a fresh reading judged before the late tick
        reset the no-valid-reading timer of a session nobody had guarded for seconds."""
        overdue = self.on_tick(now_s)
        outcome = self._on_reading(reading, now_s, age_s)
        if not overdue.events:
            return outcome
        return Outcome(
            overdue.command or outcome.command,
            (*overdue.events, *outcome.events),
            overdue.stop_reason or outcome.stop_reason,
        )

    def _on_reading(self, reading: Reading, now_s: float, age_s: float) -> Outcome:
        key = (reading.seq, _content(reading))
        if self.last_seq is not None:
            if reading.seq <= self.last_seq:
                if self._by_seq.get(reading.seq) == key[1]:
                    return _NO_CHANGE
                return self._off_stream(reading, now_s, InvalidReason.STREAM_CONTRADICTION)
            elapsed_s = max(0.0, now_s - (self._last_arrival_s or now_s))
            plausible = self.limits.max_reading_rate_hz * elapsed_s + self.limits.sequence_slack
            if reading.seq - self.last_seq > plausible:
                return self._off_stream(reading, now_s, InvalidReason.SEQUENCE_JUMP)
        self.last_seq = reading.seq
        self._last_arrival_s = now_s
        self._by_seq[reading.seq] = key[1]
        if len(self._by_seq) > _REMEMBERED_READINGS:
            self._by_seq.popitem(last=False)
        self.readings += 1
        sampled_at_s = now_s - max(age_s, 0.0)
        verdict = self.judge(reading, now_s, age_s)
        t_s = round(self.t_s(sampled_at_s), 6)
        payload: dict[str, Any] = {
            "seq": reading.seq,
            "skin_temp_c": _json_temp(reading.skin_temp_c),
            "sampled_wall_time_s": reading.sampled_wall_time_s,
            "valid": verdict.valid,
            "invalid_reason": verdict.reason.value if verdict.reason else None,
            "age_s": round(age_s, 6),
            "exposure_s": round(self.exposure_s(now_s), 6),
            "state": self.state.value,
        }
        events: list[Event] = []
        command: DeviceCommand | None = None
        stop_reason: StopReason | None = None
        if verdict.valid and reading.skin_temp_c is not None:
            temp = reading.skin_temp_c
            self.last_valid_at_s = sampled_at_s
            self.min_valid_temp_c = (
                temp if self.min_valid_temp_c is None else min(self.min_valid_temp_c, temp)
            )
            self._remember(sampled_at_s, temp)
            predicted = self._forecast()
            self.last_forecast = predicted
            if predicted is not None:
                payload["predicted_temp_c"] = round(predicted.horizon_temp_c, 4)
                payload["prediction_horizon_s"] = predicted.horizon_s
                payload["predicted_floor_in_s"] = predicted.floor_crossing_in_s
            if self.armed:
                stop_reason, more = self._temperature_rules(temp, predicted, now_s)
                events += more
        events.insert(0, Event("reading", self.spec.session_id, self.spec.device_id, t_s, payload))
        if stop_reason is not None:
            command = DeviceCommand.STOP
            events += self._stop(stop_reason, now_s)
        return Outcome(command, tuple(events), stop_reason)

    def _off_stream(self, reading: Reading, now_s: float, reason: InvalidReason) -> Outcome:
        """A reading that is not the device's next one: the stream can no longer be
        believed (a second sender, a replay, a restarted device), so the cold stops. It is
        recorded, not judged; the stream goes on from the last reading that belonged."""
        if reason is InvalidReason.SEQUENCE_JUMP:
            what = (
                f"reading seq {reading.seq} after seq {self.last_seq}: more readings than the "
                f"device can have sent since ({self.limits.max_reading_rate_hz:g} per s)"
            )
        else:
            what = (
                f"reading seq {reading.seq} contradicts the stream (seq {self.last_seq} was "
                "already judged, and this is not a repeat of what came under its seq)"
            )
        payload: dict[str, Any] = {
            **reading.to_json(),
            "valid": False,
            "invalid_reason": reason.value,
            "state": self.state.value,
        }
        event = self._event("reading", now_s, payload)
        outcome = self.technical_fault(reason.value, f"{what}: cold stopped", now_s)
        return Outcome(outcome.command, (event, *outcome.events), outcome.stop_reason)

    def technical_fault(self, condition: str, message: str, now_s: float) -> Outcome:
        """A technical condition the interlock cannot judge past (a stream that cannot be
        believed, a wrong client, a flood, a failure): a high-priority technical latching
        alarm, and a fail-safe stop if the cold could be on. A stopped zone keeps the alarm,
        which must be acknowledged before the zone may resume."""
        alarm = self._raise(
            condition, AlarmPriority.HIGH, AlarmCategory.TECHNICAL, message, now_s, latching=True
        )
        events = [alarm] if alarm is not None else []
        if not self.armed:
            return Outcome(None, tuple(events))
        events += self._stop(StopReason.TECHNICAL_FAULT, now_s, detail=condition)
        return Outcome(DeviceCommand.STOP, tuple(events), StopReason.TECHNICAL_FAULT)

    def on_tick(self, now_s: float) -> Outcome:
        """Time passed: the exposure timer, the plan's end and the no-valid-reading timer."""
        if not self.armed:
            return _NO_CHANGE
        limits = self.limits
        if now_s > self.no_valid_reading_deadline_s():
            last = (
                "none since the start"
                if self.last_valid_at_s is None
                else f"last at t = {self.t_s(self.last_valid_at_s):.2f} s"
            )
            alarm = self._raise(
                "no-valid-reading",
                AlarmPriority.HIGH,
                AlarmCategory.TECHNICAL,
                f"no valid skin-temperature reading for more than {limits.no_valid_reading_s} s "
                f"({last}): cold stopped",
                now_s,
                latching=True,
            )
            return self._stopped_outcome(StopReason.NO_VALID_READING, now_s, alarm)
        exposure = self.exposure_s(now_s)
        planned = self.spec.planned_duration_s
        if planned is not None and planned <= limits.max_exposure_s and exposure >= planned:
            return self._stopped_outcome(StopReason.PLAN_COMPLETE, now_s, None)
        if exposure >= limits.max_exposure_s:
            alarm = self._raise(
                "timer",
                AlarmPriority.LOW,
                AlarmCategory.PHYSIOLOGICAL,
                f"maximum exposure {limits.max_exposure_s:g} s for {self._where()} reached: "
                "cold stopped",
                now_s,
                latching=True,
            )
            return self._stopped_outcome(StopReason.TIMER, now_s, alarm)
        return _NO_CHANGE

    def operator_stop(self, user: str, now_s: float, reason: str | None = None) -> Outcome:
        """The practitioner's STOP: the cold goes off now; the zone may be resumed later
        (:meth:`resume_after_stop`) or ended (:meth:`end`). reason: optional text."""
        name = _named_user(user, "stop")
        detail = _optional_reason(reason)
        if not self.armed:
            return _NO_CHANGE
        events = self._stop(StopReason.OPERATOR, now_s, by_user=name, detail=detail)
        return Outcome(DeviceCommand.STOP, tuple(events), StopReason.OPERATOR)

    def resume_after_stop(self, user: str, reason: str, now_s: float) -> Outcome:
        """The practitioner resumes a stopped zone, with a reason on record. Refused (with
        what is missing) unless: every latching alarm has been acknowledged; the zone's
        exposure so far (it all counts) is below its limit and the plan's duration; and a
        valid reading from the last ``no_valid_reading_s`` shows the skin above the warning
        temperature (the cold does not come back blind, nor on skin that has not rewarmed)."""
        name = _named_user(user, "resume after a stop")
        why = _required_reason(reason, "resume after a stop")
        if self.state is not SessionState.STOPPED:
            raise ActionRefused(
                f"resume after a stop: the session is {self.state.value}, not stopped"
            )
        pending = [a.alarm_id for a in self._alarms.values() if a.latching and a.active]
        if pending:
            raise ActionRefused(
                f"resume after a stop: acknowledge the alarms {', '.join(pending)} first"
            )
        exposure = self.exposure_s(now_s)
        limit = self.limits.max_exposure_s
        planned = self.spec.planned_duration_s
        if exposure >= limit or (planned is not None and exposure >= planned):
            end = limit if planned is None else min(limit, planned)
            raise ActionRefused(
                f"resume after a stop: the zone has had {exposure:.1f} s of its {end:g} s "
                "of exposure"
            )
        self._check_rewarmed(now_s)
        previous = self.stop_reason
        self.state = SessionState.RUNNING
        self.stop_reason = None
        self.stop_at_s = None
        self._running_since_s = now_s
        event = self._event(
            "resume-after-stop",
            now_s,
            {
                "by_user": name,
                "reason": why,
                "stop_reason": previous.value if previous else None,
                "exposure_s": round(exposure, 6),
            },
        )
        return Outcome(DeviceCommand.RESUME, (event,))

    def _check_rewarmed(self, now_s: float) -> None:
        limits = self.limits
        latest = self._recent[-1] if self._recent else None
        if latest is None or now_s - latest[0] > limits.no_valid_reading_s:
            raise ActionRefused(
                "resume after a stop: no valid skin reading in the last "
                f"{limits.no_valid_reading_s:g} s (the device must keep reporting while stopped)"
            )
        if latest[1] <= limits.warning_temp_c:
            raise ActionRefused(
                f"resume after a stop: skin {latest[1]:+.1f} °C is at or below the warning "
                f"temperature {limits.warning_temp_c:+.1f} °C; wait until it has rewarmed"
            )

    def end(self, user: str, reason: str, now_s: float) -> Outcome:
        """The practitioner closes the zone for good (the cold goes off if it was on)."""
        name = _named_user(user, "ending a session")
        why = _required_reason(reason, "ending a session")
        return self._end(now_s, {"by_user": name, "reason": why}, by_user=name)

    def end_for_next_session(self, now_s: float) -> Outcome:
        """The device's next session starts: this one, stopped, is closed."""
        return self._end(now_s, {"reason": "the device's next session started"}, by_user=None)

    def _end(self, now_s: float, payload: dict[str, Any], by_user: str | None) -> Outcome:
        if self.state is SessionState.ENDED:
            return _NO_CHANGE
        events: list[Event] = []
        command = None
        if self.armed:
            command = DeviceCommand.STOP
            events += self._stop(StopReason.OPERATOR, now_s, by_user=by_user)
        self.state = SessionState.ENDED
        payload["exposure_s"] = round(self.exposure_s(now_s), 6)
        events.append(self._event("session-ended", now_s, payload))
        return Outcome(command, tuple(events), StopReason.OPERATOR if command else None)

    def pause(self, user: str, now_s: float) -> Outcome:
        name = _named_user(user, "pause")
        if self.state is not SessionState.RUNNING:
            raise ActionRefused(f"pause: the session is {self.state.value}, not running")
        self._exposure_before_s = self.exposure_s(now_s)
        self._running_since_s = None
        self.state = SessionState.PAUSED
        event = self._event("pause", now_s, {"by_user": name})
        return Outcome(DeviceCommand.PAUSE, (event,))

    def resume(self, user: str, now_s: float) -> Outcome:
        name = _named_user(user, "resume")
        if self.state is not SessionState.PAUSED:
            raise ActionRefused(f"resume: the session is {self.state.value}, not paused")
        events = []
        unacknowledged = [
            a.alarm_id for a in self._alarms.values() if a.active and not a.acknowledged_by
        ]
        if unacknowledged:
            events.append(
                self._event(
                    "override",
                    now_s,
                    {"by_user": name, "action": "resume", "alarms": unacknowledged},
                )
            )
        self._running_since_s = now_s
        self.state = SessionState.RUNNING
        events.append(self._event("resume", now_s, {"by_user": name}))
        return Outcome(DeviceCommand.RESUME, tuple(events))

    def acknowledge(self, alarm_id: str, user: str, now_s: float) -> Outcome:
        """A named user acknowledges an alarm: its audible signal ends. A latching alarm
        (each comes with a stop, which ended its hazard) is then closed; a warning stays
        active, silent, while its condition lasts."""
        name = _named_user(user, "acknowledging an alarm")
        alarm = self._alarm(alarm_id)
        if alarm.acknowledged_by is not None:
            return _NO_CHANGE
        self._alarms[alarm_id] = replace(
            alarm,
            acknowledged_by=name,
            acknowledged_t_s=round(self.t_s(now_s), 6),
            active=alarm.active and not alarm.latching,
        )
        if alarm.latching:
            self._active_by_condition.pop(alarm.condition, None)
        event = self._event("alarm-ack", now_s, {"alarm_id": alarm_id, "by_user": name})
        return Outcome(None, (event,))

    def silence(self, alarm_id: str, user: str, duration_s: float, now_s: float) -> Outcome:
        """Audio pause of one alarm for at most ``silence_max_s``, by a named user."""
        name = _named_user(user, "silencing an alarm")
        alarm = self._alarm(alarm_id)
        limit = self.limits.silence_max_s
        if not (isinstance(duration_s, int | float) and 0 < duration_s <= limit):
            raise InvalidInterlockInput(
                f"duration_s = {duration_s!r} s: an audio pause of more than 0 and at most {limit} s"
            )
        until = self.t_s(now_s) + duration_s
        self._alarms[alarm_id] = replace(alarm, silenced_until_t_s=until)
        event = self._event(
            "alarm-silence", now_s, {"alarm_id": alarm_id, "by_user": name, "until_t_s": until}
        )
        return Outcome(None, (event,))

    # -- internals ------------------------------------------------------------------------
    def _temperature_rules(
        self, temp: float, predicted: Forecast | None, now_s: float
    ) -> tuple[StopReason | None, list[Event]]:
        limits = self.limits
        events: list[Event] = []
        if temp <= limits.floor_temp_c:
            self._raise(
                "floor",
                AlarmPriority.HIGH,
                AlarmCategory.PHYSIOLOGICAL,
                f"skin {celsius(temp, 2, signed=True)} at or below the floor "
                f"{celsius(limits.floor_temp_c, signed=True)} for {self._where()}: cold stopped",
                now_s,
                latching=True,
                events=events,
            )
            return StopReason.FLOOR, events
        crossing = predicted.floor_crossing_in_s if predicted is not None else None
        cold_on = self.state is SessionState.RUNNING
        if cold_on and crossing is not None and crossing <= limits.predicted_stop_within_s:
            self._raise(
                "predicted-floor",
                AlarmPriority.HIGH,
                AlarmCategory.PHYSIOLOGICAL,
                f"forecast reaches the floor {celsius(limits.floor_temp_c, signed=True)} in "
                f"{crossing:.2f} s (skin {celsius(temp, 2, signed=True)}): cold stopped before "
                "the floor",
                now_s,
                latching=True,
                events=events,
            )
            return StopReason.PREDICTED_FLOOR, events
        if (
            cold_on
            and crossing is not None
            and self._persists("predicted-floor-warning", now_s, limits.warning_persist_s)
        ):
            self._raise(
                "predicted-floor-warning",
                AlarmPriority.MEDIUM,
                AlarmCategory.PHYSIOLOGICAL,
                f"forecast reaches the floor {celsius(limits.floor_temp_c, signed=True)} in "
                f"{crossing:.1f} s (skin {celsius(temp, 2, signed=True)})",
                now_s,
                latching=False,
                events=events,
            )
        elif not (cold_on and crossing is not None):
            self._present_since.pop("predicted-floor-warning", None)
            self._clear("predicted-floor-warning", now_s, events)
        if temp <= limits.warning_temp_c:
            self._absent_since.pop("warning-temp", None)
            self._raise(
                "warning-temp",
                AlarmPriority.MEDIUM,
                AlarmCategory.PHYSIOLOGICAL,
                f"skin {celsius(temp, 2, signed=True)} at or below the warning temperature "
                f"{celsius(limits.warning_temp_c, signed=True)}",
                now_s,
                latching=False,
                events=events,
            )
        else:
            self._clear("warning-temp", now_s, events)
        return None, events

    def _stopped_outcome(self, reason: StopReason, now_s: float, alarm: Event | None) -> Outcome:
        events = [alarm] if alarm is not None else []
        events += self._stop(reason, now_s)
        return Outcome(DeviceCommand.STOP, tuple(events), reason)

    def _stop(
        self,
        reason: StopReason,
        now_s: float,
        by_user: str | None = None,
        detail: str | None = None,
    ) -> list[Event]:
        self._exposure_before_s = self.exposure_s(now_s)
        self._running_since_s = None
        self.state = SessionState.STOPPED
        self.stop_reason = reason
        self.stop_at_s = now_s
        payload: dict[str, Any] = {
            "reason": reason.value,
            "exposure_s": round(self._exposure_before_s, 6),
            "last_valid_reading_t_s": (
                None if self.last_valid_at_s is None else round(self.t_s(self.last_valid_at_s), 6)
            ),
        }
        if by_user is not None:
            payload["by_user"] = by_user
        if detail is not None:
            payload["detail"] = detail
        return [self._event("stop", now_s, payload)]

    def _raise(
        self,
        condition: str,
        priority: AlarmPriority,
        category: AlarmCategory,
        message: str,
        now_s: float,
        *,
        latching: bool,
        events: list[Event] | None = None,
    ) -> Event | None:
        """Raise an alarm unless one for this condition is already active."""
        if condition in self._active_by_condition:
            return None
        alarm_id = f"{self.spec.session_id}/{len(self._alarms) + 1}"
        alarm = Alarm(
            alarm_id,
            self.spec.session_id,
            condition,
            priority,
            category,
            message,
            round(self.t_s(now_s), 6),
            latching,
        )
        self._alarms[alarm_id] = alarm
        self._active_by_condition[condition] = alarm_id
        event = self._event("alarm", now_s, alarm.to_json())
        if events is not None:
            events.append(event)
        return event

    def _where(self) -> str:
        """The zone and modality as the practitioner reads them (alarm messages)."""
        return f"{label('zone', self.spec.zone)} ({label('modality', self.spec.modality)})"

    def _persists(self, condition: str, now_s: float, persist_s: float) -> bool:
        """The condition holds now; has it held for ``persist_s``? (A sweeping wand's pass
        makes the forecast dip for less than a dwell; a lingering jet keeps it down.)"""
        self._absent_since.pop(condition, None)
        since = self._present_since.setdefault(condition, now_s)
        return now_s - since >= persist_s - 1e-9

    def _clear(self, condition: str, now_s: float, events: list[Event]) -> None:
        """A non-latching alarm whose condition has not held for ``warning_clear_after_s``
        stops being active (the hysteresis keeps a sweep from toggling it)."""
        alarm_id = self._active_by_condition.get(condition)
        if alarm_id is None or self._alarms[alarm_id].latching:
            return
        absent = self._absent_since.setdefault(condition, now_s)
        if now_s - absent < self.limits.warning_clear_after_s - 1e-9:
            return
        del self._absent_since[condition]
        del self._active_by_condition[condition]
        self._alarms[alarm_id] = replace(self._alarms[alarm_id], active=False)
        events.append(self._event("alarm-cleared", now_s, {"alarm_id": alarm_id}))

    def _alarm(self, alarm_id: str) -> Alarm:
        try:
            return self._alarms[alarm_id]
        except KeyError:
            raise UnknownAlarm(
                f"alarm_id = {alarm_id!r}: session {self.spec.session_id} has "
                f"{sorted(self._alarms) or 'no alarms'}"
            ) from None

    def _event(self, kind: str, now_s: float, payload: dict[str, Any]) -> Event:
        return Event(
            kind, self.spec.session_id, self.spec.device_id, round(self.t_s(now_s), 6), payload
        )

    def _remember(self, sampled_at_s: float, temp: float) -> None:
        self._recent.append((sampled_at_s, temp))
        keep_s = max(self.limits.prediction_window_s, self.limits.stuck_window_s)
        while self._recent and self._recent[0][0] < sampled_at_s - keep_s:
            self._recent.popleft()

    def _forecast(self) -> Forecast | None:
        limits = self.limits
        newest = self._recent[-1][0]
        window = [(t, c) for t, c in self._recent if t >= newest - limits.prediction_window_s]
        if len(window) < limits.prediction_min_readings:
            return None
        return forecast(
            [t for t, _ in window],
            [c for _, c in window],
            horizon_s=limits.prediction_horizon_s,
            floor_temp_c=limits.floor_temp_c,
        )

    def _is_stuck(self, value: float, sampled_at_s: float) -> bool:
        """Constant to ``stuck_tolerance_c`` for ``stuck_window_s`` while the planned curve
        says the surface must change by more than ``stuck_min_expected_change_c``."""
        curve = self.spec.planned_curve
        limits = self.limits
        if curve is None or self.state is not SessionState.RUNNING or not self._recent:
            return False
        window_start = sampled_at_s - limits.stuck_window_s
        if self._recent[0][0] > window_start + 0.1 * limits.stuck_window_s:
            # Too little history to judge; an invalid (stuck) value is not remembered, so a
            # frozen sensor keeps being judged against the last values that moved.
            return False
        values = [c for t, c in self._recent if t >= window_start] + [value]
        if max(values) - min(values) > limits.stuck_tolerance_c:
            return False
        exposure_now = self._exposure_before_s + (sampled_at_s - (self._running_since_s or 0.0))
        expected = curve.change_over(max(0.0, exposure_now - limits.stuck_window_s), exposure_now)
        return expected > limits.stuck_min_expected_change_c


# Readings remembered per session to tell a retransmission from a contradiction: 25 s at
# 10 Hz, longer than a device keeps resending an unacknowledged reading.
_REMEMBERED_READINGS = 256


def _content(reading: Reading) -> tuple[Any, float]:
    """What a retransmission repeats exactly (NaN compared as its name)."""
    value = reading.skin_temp_c
    return (
        repr(value) if value is not None and math.isnan(value) else value,
        reading.sampled_wall_time_s,
    )


def _json_temp(value: float | None) -> float | str | None:
    if value is not None and math.isnan(value):
        return "nan"
    return value
