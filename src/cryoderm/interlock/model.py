"""The interlock's value objects: readings, stop reasons, alarms, session specs, events.

Time: ``*_s`` fields named ``..._at_s`` are on the interlock's monotonic clock (seconds);
``*_wall_time_s`` are Unix times; ``t_s`` in a session's record is seconds since the
session started. Temperatures are skin-surface temperatures in degrees C.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cryoderm.interlock.errors import InvalidInterlockInput
from cryoderm.interlock.wire import show

# The largest device sequence number: the journal stores it as a signed 64-bit integer.
MAX_SEQ = 2**63 - 1


class StopReason(StrEnum):
    """Why a session's cold was stopped (the ``stop_reason`` of a session record)."""

    FLOOR = "floor"
    PREDICTED_FLOOR = "predicted-floor"
    TIMER = "timer"
    NO_VALID_READING = "no-valid-reading"
    PLAN_COMPLETE = "plan-complete"
    OPERATOR = "operator"
    # A technical alarm the interlock cannot judge past (its condition says which: a
    # sequence jump, a contradicting stream, a wrong client, a flood, a journal failure).
    TECHNICAL_FAULT = "technical-fault"


class SessionState(StrEnum):
    """RUNNING: cold allowed. PAUSED: cold off by the operator, rules still armed; resume
    goes back to RUNNING. STOPPED: cold off by a rule or the operator; the practitioner may
    resume the zone (``resume_after_stop``, with a reason, once the latching alarms are
    acknowledged, within the zone's exposure limit) or end it. ENDED: closed for good
    (terminal), by the practitioner or because the device's next session started.
    Readings are recorded in every state."""

    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    ENDED = "ended"


class AlarmPriority(StrEnum):
    """IEC 60601-1-8 priorities by urgency: high = immediate response (red, fast flash),
    medium = prompt response (yellow, slow flash), low = awareness (yellow/cyan, steady)."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class AlarmCategory(StrEnum):
    """IEC 60601-1-8 distinguishes physiological from technical alarm conditions."""

    PHYSIOLOGICAL = "physiological"
    TECHNICAL = "technical"


class DeviceCommand(StrEnum):
    """What the interlock tells a device: ``stop`` takes the cold off (until a ``resume``
    when the practitioner resumes the zone), ``pause``/``resume`` off and on."""

    STOP = "stop"
    PAUSE = "pause"
    RESUME = "resume"


class InvalidReason(StrEnum):
    """Why a reading does not count as a valid reading (IL-3)."""

    MISSING = "missing"
    NOT_A_NUMBER = "nan"
    OUT_OF_RANGE = "out-of-range"
    STALE = "stale"
    # Sampled later than now by more than the clock skew a device is allowed: its clock is
    # ahead, so a late reading could not be told from a fresh one.
    FUTURE = "future"
    STUCK = "stuck"
    # The reading does not belong to the device's stream (a technical alarm, see guard.py).
    SEQUENCE_JUMP = "sequence-jump"
    STREAM_CONTRADICTION = "stream-contradiction"


@dataclass(frozen=True)
class Reading:
    """One skin-surface temperature sample from a device.

    device_id: the device's identifier (letters, digits, ``-`` and ``_``).
    seq: the device's sequence number, strictly increasing per device; a repeated seq is
        a retransmission and is recorded once.
    skin_temp_c: the sensor's value in degrees C, or None when the sensor sent none.
        NaN and values outside the sensor's range are kept as sent and judged invalid.
    sampled_wall_time_s: Unix time at which the device took the sample (staleness).
    """

    device_id: str
    seq: int
    skin_temp_c: float | None
    sampled_wall_time_s: float

    def __post_init__(self) -> None:
        check_device_id(self.device_id)
        if (
            isinstance(self.seq, bool)
            or not isinstance(self.seq, int)
            or not 0 <= self.seq <= MAX_SEQ
        ):
            raise InvalidInterlockInput(
                f"seq = {show(self.seq)}: a whole number from 0 to {MAX_SEQ} is required"
            )
        if not math.isfinite(self.sampled_wall_time_s):
            raise InvalidInterlockInput(
                f"sampled_wall_time_s = {show(self.sampled_wall_time_s)} s: a finite Unix time is required"
            )

    def to_json(self) -> dict[str, Any]:
        value = self.skin_temp_c
        # JSON has no NaN or infinity: such a reading travels as the string "nan" (invalid,
        # as it was) so that it is not lost.
        wire: float | str | None = (
            "nan" if value is not None and not math.isfinite(value) else value
        )
        return {
            "device_id": self.device_id,
            "seq": self.seq,
            "skin_temp_c": wire,
            "sampled_wall_time_s": self.sampled_wall_time_s,
        }

    @classmethod
    def from_json(cls, data: object) -> Reading:
        """Parse the JSON payload of a reading; raises InvalidInterlockInput naming the field."""
        if not isinstance(data, dict):
            raise InvalidInterlockInput(f"reading = {show(data)}: a JSON object is required")
        for key in ("device_id", "seq", "sampled_wall_time_s"):
            if key not in data:
                raise InvalidInterlockInput(f"reading.{key} is missing")
        raw = data.get("skin_temp_c")
        value: float | None
        if raw is None:
            value = None
        elif raw == "nan":
            value = math.nan
        elif isinstance(raw, int | float) and not isinstance(raw, bool):
            # An integer too large for a float is a value far out of the sensor's range.
            value = float(raw) if abs(raw) < 1e300 else math.copysign(math.inf, raw)
        else:
            raise InvalidInterlockInput(
                f'reading.skin_temp_c = {show(raw)}: a number in C, null, or "nan" is required'
            )
        sampled = data["sampled_wall_time_s"]
        if (
            not isinstance(sampled, int | float)
            or isinstance(sampled, bool)
            or not abs(sampled) < 1e300
        ):
            raise InvalidInterlockInput(
                f"reading.sampled_wall_time_s = {show(sampled)}: a Unix time in s is required"
            )
        device_id = data["device_id"]
        if not isinstance(device_id, str):
            raise InvalidInterlockInput(
                f"reading.device_id = {show(device_id)}: a string is required"
            )
        return cls(device_id, data["seq"], value, float(sampled))


# The fields of a device's status message, each with the longest text it may hold; any other
# field is dropped (the journal keeps what a status says, not whatever a sender adds).
_STATUS_TEXT_FIELDS = {
    "state": 32,
    "session_id": 128,
    "zone": 64,
    "modality": 64,
    "goal": 64,
    "stopped_by": 64,
}


DEVICE_STATES = ("running", "paused", "stopped")


def status_from_json(data: object) -> dict[str, Any]:
    """The known fields of a device's status message, checked; raises InvalidInterlockInput
    naming the field. ``state`` is required (one of DEVICE_STATES);
    ``planned_duration_s``: a finite number of seconds > 0, or null."""
    if not isinstance(data, dict):
        raise InvalidInterlockInput(f"status = {show(data)}: a JSON object is required")
    if data.get("state") not in DEVICE_STATES:
        raise InvalidInterlockInput(
            f"status.state = {show(data.get('state'))}: one of {', '.join(DEVICE_STATES)}"
        )
    status: dict[str, Any] = {}
    for key, longest in _STATUS_TEXT_FIELDS.items():
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or len(value) > longest:
            raise InvalidInterlockInput(
                f"status.{key} = {show(value)}: text of at most {longest} characters"
            )
        status[key] = value
    duration = data.get("planned_duration_s")
    if duration is not None:
        if (
            not isinstance(duration, int | float)
            or isinstance(duration, bool)
            or not 0 < duration < 1e9
        ):
            raise InvalidInterlockInput(
                f"status.planned_duration_s = {show(duration)}: seconds > 0, or null"
            )
        status["planned_duration_s"] = float(duration)
    return status


# Device ids already found valid: every reading is checked, so a repeat costs a set look-up.
# Bounded, so that ever new ids cannot grow it without limit.
_VALID_IDS: set[str] = set()
_VALID_IDS_MAX = 10_000


def check_device_id(device_id: object) -> str:
    """A device id is used in MQTT topics and file names: keep it to a safe alphabet."""
    if not isinstance(device_id, str):
        raise InvalidInterlockInput(
            f"device_id = {show(device_id)}: 1-64 letters, digits, '-' or '_' are required"
        )
    if device_id in _VALID_IDS:
        return device_id
    if not 0 < len(device_id) <= 64 or not all(c.isalnum() or c in "-_" for c in device_id):
        raise InvalidInterlockInput(
            f"device_id = {show(device_id)}: 1-64 letters, digits, '-' or '_' are required"
        )
    if len(_VALID_IDS) >= _VALID_IDS_MAX:
        _VALID_IDS.clear()
    _VALID_IDS.add(device_id)
    return device_id


@dataclass(frozen=True)
class GuardLimits:
    """The thresholds one session is guarded with.

    floor_temp_c: a valid reading at or below it stops the cold (IL-2), from the safety
        registry for the zone and modality.
    warning_temp_c: a valid reading at or below it raises a medium-priority warning.
    max_exposure_s: exposure time (paused time excluded) after which the cold stops
        whatever the temperature (IL-4), from the safety registry.
    no_valid_reading_s: longest time without a valid reading before a fail-safe stop (IL-3).
    max_clock_skew_s: how far in the future a reading may be stamped (the device's clock
        ahead of the interlock's) and still be valid.
    first_reading_grace_s: time after the start for the first valid reading.
    valid_min_c, valid_max_c: plausible sensor range; outside is invalid.
    stuck_window_s, stuck_tolerance_c, stuck_min_expected_change_c: the stuck-sensor test.
    prediction_window_s, prediction_horizon_s, prediction_min_readings: the forecast.
    predicted_stop_within_s: stop when the forecast reaches the floor within this time.
    silence_max_s: longest audio pause of an acknowledged alarm.
    max_reading_rate_hz, sequence_slack: the largest plausible advance of a device's seq
        (rate times the time since its last reading, plus the slack).
    warning_persist_s: how long the forecast must keep reaching the floor before it warns.
    warning_clear_after_s: how long a warning's condition must be absent before it clears.
    sources: where each clinical number came from (name -> source text).
    Technical parameters and their sources: ``cryoderm/data/interlock.toml``.
    """

    floor_temp_c: float
    warning_temp_c: float
    max_exposure_s: float
    no_valid_reading_s: float
    first_reading_grace_s: float
    valid_min_c: float
    valid_max_c: float
    stuck_window_s: float
    stuck_tolerance_c: float
    stuck_min_expected_change_c: float
    prediction_window_s: float
    prediction_horizon_s: float
    prediction_min_readings: int
    predicted_stop_within_s: float
    silence_max_s: float
    max_reading_rate_hz: float
    sequence_slack: int
    max_clock_skew_s: float
    warning_persist_s: float = 1.0
    warning_clear_after_s: float = 3.0
    sources: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not self.valid_min_c < self.floor_temp_c <= self.warning_temp_c < self.valid_max_c:
            raise InvalidInterlockInput(
                f"floor_temp_c = {self.floor_temp_c} C, warning_temp_c = {self.warning_temp_c} C: "
                f"valid_min_c ({self.valid_min_c}) < floor <= warning < valid_max_c "
                f"({self.valid_max_c}) is required"
            )
        for name in (
            "max_exposure_s",
            "no_valid_reading_s",
            "max_clock_skew_s",
            "first_reading_grace_s",
            "stuck_window_s",
            "prediction_window_s",
            "prediction_horizon_s",
            "silence_max_s",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise InvalidInterlockInput(f"{name} = {value!r} s: a finite time > 0 is required")


@dataclass(frozen=True)
class PlannedCurve:
    """The planned skin-surface temperature over exposure time, from the engine.

    times_s strictly increasing from 0; temps_c the simulated surface temperature (C).
    Used by the stuck-sensor test (how much must the surface change in a window?).
    """

    times_s: tuple[float, ...]
    temps_c: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.times_s) != len(self.temps_c) or len(self.times_s) < 2:
            raise InvalidInterlockInput("planned curve: at least two (time, temperature) points")

    def temp_at(self, exposure_s: float) -> float:
        """Linear interpolation; clamped to the ends."""
        times, temps = self.times_s, self.temps_c
        if exposure_s <= times[0]:
            return temps[0]
        if exposure_s >= times[-1]:
            return temps[-1]
        lo, hi = 0, len(times) - 1
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if times[mid] <= exposure_s:
                lo = mid
            else:
                hi = mid
        frac = (exposure_s - times[lo]) / (times[hi] - times[lo])
        return temps[lo] + frac * (temps[hi] - temps[lo])

    def change_over(self, start_s: float, end_s: float) -> float:
        """Largest minus smallest planned temperature in [start_s, end_s] (K)."""
        points = [self.temp_at(start_s), self.temp_at(end_s)]
        points += [
            c for t, c in zip(self.times_s, self.temps_c, strict=True) if start_s < t < end_s
        ]
        return max(points) - min(points)


@dataclass(frozen=True)
class SessionSpec:
    """What the interlock guards: one device on one zone with one modality.

    planned_duration_s: the plan's exposure time; at its end the interlock stops the cold
        with reason ``plan-complete`` (None: only the exposure timer ends the session).
    planned_curve: the engine's surface curve for the plan (None: no stuck-sensor test).
    delivered_exposure_s: exposure this zone already had in the same treatment (an earlier
        session of the zone, e.g. before an interlock restart); it counts toward the
        zone's exposure limit and the plan's duration.
    """

    session_id: str
    device_id: str
    zone: str
    modality: str
    limits: GuardLimits
    planned_duration_s: float | None = None
    planned_curve: PlannedCurve | None = None
    delivered_exposure_s: float = 0.0

    def __post_init__(self) -> None:
        check_device_id(self.device_id)
        if not self.session_id or len(self.session_id) > 128:
            raise InvalidInterlockInput(
                f"session_id = {self.session_id!r}: 1-128 characters are required"
            )
        if self.planned_duration_s is not None and not self.planned_duration_s > 0:
            raise InvalidInterlockInput(
                f"planned_duration_s = {self.planned_duration_s!r} s: > 0 or None is required"
            )
        if not (math.isfinite(self.delivered_exposure_s) and self.delivered_exposure_s >= 0):
            raise InvalidInterlockInput(
                f"delivered_exposure_s = {self.delivered_exposure_s!r} s: a finite time >= 0"
            )


@dataclass(frozen=True)
class Alarm:
    """A snapshot of one alarm condition of a session.

    alarm_id: unique within the interlock (``{session_id}/{n}``).
    condition: what raised it (``floor``, ``predicted-floor``, ``warning-temp``,
        ``no-valid-reading``, ``timer``).
    raised_t_s: session time at which it was raised. active: the condition still holds
    (latching alarms stay active until acknowledged). acknowledged_by / acknowledged_t_s:
    the named user who acknowledged it. silenced_until_t_s: end of an audio pause.
    """

    alarm_id: str
    session_id: str
    condition: str
    priority: AlarmPriority
    category: AlarmCategory
    message: str
    raised_t_s: float
    latching: bool
    active: bool = True
    acknowledged_by: str | None = None
    acknowledged_t_s: float | None = None
    silenced_until_t_s: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "alarm_id": self.alarm_id,
            "session_id": self.session_id,
            "condition": self.condition,
            "priority": self.priority.value,
            "category": self.category.value,
            "message": self.message,
            "raised_t_s": self.raised_t_s,
            "latching": self.latching,
            "active": self.active,
            "acknowledged_by": self.acknowledged_by,
            "acknowledged_t_s": self.acknowledged_t_s,
            "silenced_until_t_s": self.silenced_until_t_s,
        }


@dataclass(frozen=True)
class Event:
    """One thing to record in the journal.

    kind: ``reading``, ``alarm``, ``alarm-cleared``, ``alarm-ack``, ``alarm-silence``,
        ``stop``, ``pause``, ``resume``, ``resume-after-stop``, ``session-ended``,
        ``override``, ``session-started``,
        ``device-status``, ``interlock-started``, ``command-rejected``, ``interlock-fault``,
        ``watchdog-restart``.
    t_s: session time (s since the session started) or None for interlock-wide events.
    """

    kind: str
    session_id: str | None
    device_id: str | None
    t_s: float | None
    payload: dict[str, Any] = field(default_factory=dict)
