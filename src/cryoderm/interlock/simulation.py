"""One whole simulated session through the real interlock (what ``cryoderm session-sim`` runs).

The planned protocol comes from the planner (:func:`cryoderm.clinical.planner.plan`) for the
zone, modality and goal: its case drives the virtual face (:class:`~.face.EngineFace`), its
duration is the device's programme and the interlock's plan end, and its simulated surface
curve is the stuck-sensor reference. The device, the interlock and the embedded transport
run on one controlled clock in steps of ``step_s``; the journal is real (SQLite, fsync).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryoderm.clinical.catalogue import goal_ids, protocol
from cryoderm.clinical.planner import PlanRequest, PlanStep, plan
from cryoderm.errors import UserInputError
from cryoderm.interlock.clock import ManualClock
from cryoderm.interlock.device import SimulatedDevice
from cryoderm.interlock.embedded import EmbeddedTransport
from cryoderm.interlock.errors import InvalidInterlockInput
from cryoderm.interlock.face import EngineFace
from cryoderm.interlock.faults import Fault
from cryoderm.interlock.journal import Journal, entries_of
from cryoderm.interlock.limits import guard_limits, technical_parameters
from cryoderm.interlock.model import PlannedCurve, SessionSpec
from cryoderm.interlock.runtime import Interlock

DEVICE_ID = "sim-1"
SESSION_ID = "session-sim"


@dataclass(frozen=True)
class SimulationSettings:
    """step_s: the controlled clock's step; sample_every_s: the device's reading interval;
    observe_after_stop_s: how long the rewarming is recorded after the stop."""

    step_s: float = 0.01
    sample_every_s: float = 0.1
    observe_after_stop_s: float = 5.0


def planned_step(zone: str, modality: str, goal: str | None) -> tuple[str, PlanStep]:
    """The planner's step for the zone and modality: for ``goal``, or else for the first goal
    of the catalogue with a safe protocol (else the first goal's nearest candidate)."""
    goals = (goal,) if goal else tuple(g for g in goal_ids() if _applies(g, zone, modality))
    first: tuple[str, PlanStep] | None = None
    for candidate in goals:
        step = plan(PlanRequest(goals=(candidate,), zones=(zone,), modality=modality)).steps[0]
        if step.status == "planned":
            return candidate, step
        first = first or (candidate, step)
    if first is None:
        raise InvalidInterlockInput(
            f"goal: the protocol catalogue has no goal for zone {zone!r} with {modality!r}"
        )
    return first


def _applies(goal: str, zone: str, modality: str) -> bool:
    try:
        protocol(goal, zone, modality)
    except UserInputError:
        return False
    return True


def planned_curve(step: PlanStep) -> PlannedCurve | None:
    """The plan's surface curve over its exposure (the rewarming tail left out)."""
    times, temps = step.prediction.time_s, step.prediction.surface_c
    pairs = [(t, c) for t, c in zip(times, temps, strict=True) if t <= step.duration_s + 1e-9]
    if len(pairs) < 2:
        return None
    return PlannedCurve(tuple(t for t, _ in pairs), tuple(c for _, c in pairs))


def run_session(
    zone: str,
    modality: str,
    fault: Fault,
    journal_dir: Path,
    *,
    goal: str | None = None,
    settings: SimulationSettings | None = None,
) -> dict[str, Any]:
    """Run the session to its stop (and ``observe_after_stop_s`` beyond); its record."""
    settings = settings or SimulationSettings()
    limits = guard_limits(zone, modality)
    chosen_goal, step = planned_step(zone, modality, goal)
    tech = technical_parameters()
    clock = ManualClock()
    transport = EmbeddedTransport()
    journal = Journal(journal_dir)
    interlock = Interlock(
        journal,
        [transport],
        clock=clock,
        tick_s=float(tech["loop"]["tick_s"]),
        heartbeat_s=float(tech["heartbeat"]["interval_s"]),
    )
    device = SimulatedDevice(
        DEVICE_ID,
        EngineFace(step.case),
        clock,
        transport.publish_reading,
        fault=fault,
        sample_every_s=settings.sample_every_s,
        heartbeat_timeout_s=float(tech["heartbeat"]["device_timeout_s"]),
        planned_duration_s=step.duration_s,
    )
    transport.attach(device)
    spec = SessionSpec(
        SESSION_ID,
        DEVICE_ID,
        zone,
        modality,
        limits,
        planned_duration_s=step.duration_s,
        planned_curve=planned_curve(step),
    )
    interlock.open()
    interlock.start_session(spec)
    device.power_on()
    guard = interlock.guard(SESSION_ID)
    # Bounded: the exposure timer stops every session by max_exposure_s.
    end_s = max(limits.max_exposure_s, step.duration_s) + settings.observe_after_stop_s + 5.0
    while clock.now_s() < end_s:
        clock.advance(settings.step_s)
        device.step()
        interlock.pump()
        if (
            guard.stop_at_s is not None
            and clock.now_s() >= guard.stop_at_s + settings.observe_after_stop_s
        ):
            break
    record = _record(guard, device, interlock, journal)
    record.update(
        {
            "zone": zone,
            "modality": modality,
            "goal": chosen_goal,
            "plan_status": step.status,
            "planned_duration_s": step.duration_s,
            "fault": fault.kind,
            "fault_start_s": fault.start_s if fault.kind != "none" else None,
            "floor_temp_c": limits.floor_temp_c,
            "warning_temp_c": limits.warning_temp_c,
            "max_exposure_s": limits.max_exposure_s,
            "journal": str(journal.directory),
        }
    )
    journal.close()
    return record


def _record(
    guard: Any, device: SimulatedDevice, interlock: Interlock, journal: Journal
) -> dict[str, Any]:
    readings = entries_of(journal, SESSION_ID, ["reading"])
    valid = [e.payload["skin_temp_c"] for e in readings if e.payload.get("valid")]
    true_temps = [temp for _, temp in device.log.true_temps]
    stop_t = None if guard.stop_at_s is None else round(guard.t_s(guard.stop_at_s), 3)
    last_valid = (
        None if guard.last_valid_at_s is None else round(guard.t_s(guard.last_valid_at_s), 3)
    )
    latency = interlock.stop_latency_ms(SESSION_ID)
    return {
        "stopped": guard.stop_reason is not None,
        "stop_reason": guard.stop_reason.value if guard.stop_reason else None,
        "stop_time_s": stop_t,
        "last_valid_reading_s": last_valid,
        "min_skin_temp_c": round(min(valid), 3) if valid else None,
        "min_true_skin_temp_c": round(min(true_temps), 3) if true_temps else None,
        "readings": len(readings),
        "readings_valid": len(valid),
        "readings_sent": len(device.log.sent),
        "readings_acknowledged": len(device.log.acked),
        "alarms": [alarm.to_json() for alarm in guard.alarms],
        "stop_latency_ms": None if latency is None else round(latency, 3),
        "device_stopped_by": device.log.stopped_by,
        "device_stopped_at_s": (
            None if device.log.stopped_at_s is None else round(device.log.stopped_at_s, 3)
        ),
        "exposure_s": round(guard.exposure_s(guard.stop_at_s or 0.0), 3),
    }
