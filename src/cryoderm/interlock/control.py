"""Operator commands from another process, through the journal's command table.

The clinic (or any process that can open the journal directory) calls
:class:`ControlClient` methods; the interlock takes the commands within one loop tick and
applies them as if called in-process (:class:`~.runtime.Interlock`). Each method returns the
command's id once the command is durable; :meth:`ControlClient.outcome` tells whether the
interlock applied it or rejected it, and why. A rejected command is also recorded in the
journal as ``command-rejected`` with the reason.

Command bodies (JSON), ``user`` always a named user:
``{"action": "start", "session_id", "device_id", "zone", "modality", "planned_duration_s",
"planned_curve", "delivered_exposure_s", "goal", "fault", "fault_start_s"}`` (limits from
the registry for the zone and modality; the last three only for simulated devices),
``{"action": "stop", "session_id", "user", "reason"}`` (reason optional),
``{"action": "pause"|"resume", "session_id", "user"}``,
``{"action": "resume_after_stop"|"end", "session_id", "user", "reason"}``,
``{"action": "acknowledge", "session_id", "alarm_id", "user"}``,
``{"action": "silence", "session_id", "alarm_id", "user", "duration_s"}``.
"""

from __future__ import annotations

import logging
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from cryoderm.interlock.errors import ActionRefused, InterlockError, InvalidInterlockInput
from cryoderm.interlock.journal import Journal
from cryoderm.interlock.liveness import judge, read_progress
from cryoderm.interlock.model import Event, PlannedCurve, SessionSpec
from cryoderm.interlock.runtime import Interlock
from cryoderm.interlock.wire import caps, clip, decode, show

log = logging.getLogger(__name__)

SpecBuilder = Callable[[dict[str, Any]], SessionSpec]


@dataclass(frozen=True)
class CommandOutcome:
    """What became of a command. status: ``applied``, ``rejected`` (error says why) or
    ``pending`` (not taken yet, or still being applied, e.g. a start being planned)."""

    command_id: int
    status: str
    error: str | None = None


@dataclass(frozen=True)
class InterlockHealth:
    """alive: the interlock's loop and network thread made progress within
    ``[liveness] hung_after_s``. state: ``running``, ``journal-failed``, ``stopped`` or
    ``absent``; ages_s: seconds since each stamp (``loop``, ``network``); why: what is
    wrong when not alive."""

    alive: bool
    pid: int | None
    state: str
    ages_s: dict[str, float]
    why: str | None


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ControlClient:
    """Send operator commands to the interlock that owns ``journal_dir``. Each method returns
    the command id once the command is durable; :meth:`outcome` waits for its fate."""

    def __init__(self, journal_dir: str | Path) -> None:
        self.journal = Journal(journal_dir)

    def close(self) -> None:
        self.journal.close()

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _submit(self, body: dict[str, Any]) -> int:
        priority = 0 if body.get("action") in URGENT else 1
        return self.journal.submit_command(body, time.time(), priority)

    def outcome(self, command_id: int, timeout_s: float = 0.0) -> CommandOutcome:
        """The command's outcome, waiting up to ``timeout_s`` while it is pending (the
        interlock takes commands every 50 ms; a start on the embedded source plans the zone
        first, about a second)."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = self.journal.command_outcome(command_id)
            if found is not None or time.monotonic() >= deadline:
                break
            time.sleep(0.02)
        if found is None:
            return CommandOutcome(command_id, "pending")
        return CommandOutcome(command_id, found[0], found[1])

    def health(self) -> InterlockHealth:
        """Is an interlock guarding this journal, judged by its progress (not its pid)?"""
        progress = read_progress(self.journal.directory)
        now_s = time.monotonic()
        if progress is None or not progress.loop_s:
            return InterlockHealth(False, None, "absent", {}, "no interlock has run here")
        ages = {k: round(v, 3) for k, v in progress.ages_s(now_s).items()}
        why = judge(progress, progress.pid, now_s, now_s)
        if progress.state == "stopped":
            why = "the interlock has shut down"
        elif progress.state == "journal-failed":
            why = "the journal cannot be written: every device was told to stop"
        elif not _process_exists(progress.pid):
            why = f"process {progress.pid} is gone"
        return InterlockHealth(why is None, progress.pid, progress.state, ages, why)

    def start(
        self,
        session_id: str,
        device_id: str,
        zone: str,
        modality: str,
        planned_duration_s: float | None = None,
        planned_curve: PlannedCurve | None = None,
        *,
        delivered_exposure_s: float = 0.0,
        goal: str | None = None,
        fault: str | None = None,
        fault_start_s: float | None = None,
    ) -> int:
        """Guard a session (the clinic has checked its gates). planned_curve: the plan's
        surface curve, which enables the stuck-sensor test. delivered_exposure_s: exposure
        the zone already had in this treatment (it counts toward its limit). goal, fault,
        fault_start_s: for the embedded source's simulated device only (the planner's goal;
        a sensor fault from ``cryoderm.interlock.faults.FAULT_KINDS`` and its onset)."""
        curve = None
        if planned_curve is not None:
            curve = {"times_s": list(planned_curve.times_s), "temps_c": list(planned_curve.temps_c)}
        body: dict[str, Any] = {
            "action": "start",
            "session_id": session_id,
            "device_id": device_id,
            "zone": zone,
            "modality": modality,
            "planned_duration_s": planned_duration_s,
            "planned_curve": curve,
            "delivered_exposure_s": delivered_exposure_s,
        }
        extra = {"goal": goal, "fault": fault, "fault_start_s": fault_start_s}
        body.update({key: value for key, value in extra.items() if value is not None})
        return self._submit(body)

    def stop(self, session_id: str, user: str, reason: str | None = None) -> int:
        """STOP: the cold goes off now. The zone may then be resumed or ended."""
        body = {"action": "stop", "session_id": session_id, "user": user}
        if reason:
            body["reason"] = reason
        return self._submit(body)

    def pause(self, session_id: str, user: str) -> int:
        return self._submit({"action": "pause", "session_id": session_id, "user": user})

    def resume(self, session_id: str, user: str) -> int:
        """Resume after a pause (an override if alarms are unacknowledged)."""
        return self._submit({"action": "resume", "session_id": session_id, "user": user})

    def resume_after_stop(self, session_id: str, user: str, reason: str) -> int:
        """Resume a stopped zone, with a reason: refused until every latching alarm is
        acknowledged, beyond the zone's exposure limit or plan, and while the skin is at or
        below the warning temperature or has no valid reading (see docs/interlock.md)."""
        return self._submit(
            {
                "action": "resume_after_stop",
                "session_id": session_id,
                "user": user,
                "reason": reason,
            }
        )

    def end(self, session_id: str, user: str, reason: str) -> int:
        """Close a session for good, with a reason (the cold stops first if it was on)."""
        return self._submit(
            {"action": "end", "session_id": session_id, "user": user, "reason": reason}
        )

    def acknowledge(self, session_id: str, alarm_id: str, user: str) -> int:
        return self._submit(
            {"action": "acknowledge", "session_id": session_id, "alarm_id": alarm_id, "user": user}
        )

    def silence(self, session_id: str, alarm_id: str, user: str, duration_s: float) -> int:
        return self._submit(
            {
                "action": "silence",
                "session_id": session_id,
                "alarm_id": alarm_id,
                "user": user,
                "duration_s": duration_s,
            }
        )


# What takes the cold off goes before what was queued ahead of it (a flood of other commands
# must not hold up a STOP), in the order sent; a command that would turn the cold on, sent
# before one of these for its session, is then refused as superseded rather than applied
# after it.
URGENT = ("stop", "pause", "end")
COLD_ON = ("start", "resume", "resume_after_stop")

ACTIONS = (
    "start",
    "stop",
    "pause",
    "resume",
    "resume_after_stop",
    "end",
    "acknowledge",
    "silence",
)


def _text(body: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = body.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise InvalidInterlockInput(f"{key} = {show(value)}: text is required")
    return value


def apply_command(interlock: Interlock, body: dict[str, Any], build_spec: SpecBuilder) -> None:
    """Apply one command body to the interlock; raises InterlockError when it cannot."""
    action = body.get("action")
    if action == "start":
        interlock.start_session(build_spec(body))
        return
    if action not in ACTIONS:
        raise InvalidInterlockInput(f"action = {show(action)}: one of {', '.join(ACTIONS)}")
    session_id, user = _text(body, "session_id"), _text(body, "user")
    if action == "stop":
        interlock.stop(session_id, user, _text(body, "reason", required=False) or None)
    elif action == "pause":
        interlock.pause(session_id, user)
    elif action == "resume":
        interlock.resume(session_id, user)
    elif action == "resume_after_stop":
        interlock.resume_after_stop(session_id, user, _text(body, "reason"))
    elif action == "end":
        interlock.end(session_id, user, _text(body, "reason"))
    elif action == "acknowledge":
        interlock.acknowledge(session_id, _text(body, "alarm_id"), user)
    else:
        duration = body.get("duration_s")
        if isinstance(duration, bool) or not isinstance(duration, int | float):
            raise InvalidInterlockInput(f"duration_s = {show(duration)}: a number of seconds")
        interlock.silence(session_id, _text(body, "alarm_id"), user, float(duration))


@cache
def _poll_limits() -> tuple[int, float]:
    from cryoderm.interlock.limits import technical_parameters

    table = technical_parameters()["control"]
    return int(table["commands_per_take"]), float(table["poll_budget_s"])


# Sessions remembered with their last urgent command (bounded; ids only grow, so a session
# forgotten long ago has no command queued before its stop any more).
_URGENT_REMEMBERED = 10_000


def journal_command_poll(
    interlock: Interlock,
    build_spec: SpecBuilder,
    start: Callable[[int, dict[str, Any]], None] | None = None,
) -> Callable[[], None]:
    """A poll function for :meth:`Interlock.set_command_poll` reading the journal's commands.

    Each command on its own: one that cannot be read or applied (whatever it raises) is
    rejected on record and the next is applied. Stops, pauses and ends are taken first (see
    :data:`URGENT`); a tick takes commands for at most ``[control] poll_budget_s``, in takes
    of ``commands_per_take`` (the rest wait for the next tick), and records the rejections
    and outcomes of a take in one write each. start: optional handler for start commands,
    given the command id (the embedded fleet plans off the loop, and records the outcome
    itself)."""
    per_take, budget_s = _poll_limits()
    urgent_at: OrderedDict[str, int] = OrderedDict()

    def superseded(command_id: int, body: dict[str, Any]) -> None:
        session_id = body.get("session_id")
        if not isinstance(session_id, str):
            return
        action = body.get("action")
        if action in URGENT:
            urgent_at[session_id] = max(command_id, urgent_at.pop(session_id, 0))
            if len(urgent_at) > _URGENT_REMEMBERED:
                urgent_at.popitem(last=False)
        elif action in COLD_ON and urgent_at.get(session_id, 0) > command_id:
            raise ActionRefused(
                f"{action} of session {session_id}: superseded by command {urgent_at[session_id]} "
                "(a stop, pause or end sent after it, applied first)"
            )

    def take() -> int:
        taken = interlock.journal.take_commands(per_take)
        rejected: list[Event] = []
        outcomes: list[tuple[int, str, str | None]] = []
        for command_id, raw in taken:
            body: dict[str, Any] | None = None
            try:
                decoded = decode(raw if isinstance(raw, str | bytes) else b"", caps("control"))
                if not isinstance(decoded, dict):
                    raise InvalidInterlockInput(
                        f"command = {show(decoded)}: a JSON object is required"
                    )
                body = decoded
                superseded(command_id, body)
                if start is not None and body.get("action") == "start":
                    start(command_id, body)
                    continue
                apply_command(interlock, body, build_spec)
                outcomes.append((command_id, "applied", None))
            except Exception as error:
                event, text = _rejection(command_id, body, error)
                rejected.append(event)
                outcomes.append((command_id, "rejected", text))
        try:
            if rejected:
                interlock.journal.append(rejected, interlock.clock.wall_time_s())
            if outcomes:
                interlock.journal.record_outcomes(outcomes)
        except Exception:
            log.exception("interlock: recording the outcomes of %s commands failed", len(taken))
        return len(taken)

    def poll() -> None:
        deadline = time.monotonic() + budget_s
        while take() == per_take and time.monotonic() < deadline:
            pass

    return poll


def _rejection(command_id: int, body: dict[str, Any] | None, error: Exception) -> tuple[Event, str]:
    """The ``command-rejected`` entry of a command that was not applied, and its reason."""
    text = str(error) if isinstance(error, InterlockError) else f"{type(error).__name__}: {error}"
    text = clip(text)
    session_id = body.get("session_id") if body is not None else None
    event = Event(
        "command-rejected",
        session_id if isinstance(session_id, str) and session_id else None,
        None,
        None,
        {"command_id": command_id, "command": body, "error": text},
    )
    return event, text


def reject_command(
    interlock: Interlock, command_id: int, body: dict[str, Any] | None, error: Exception
) -> None:
    """Record that a command was not applied: a ``command-rejected`` journal entry and the
    command's outcome (what :meth:`ControlClient.outcome` reports)."""
    event, text = _rejection(command_id, body, error)
    try:
        interlock.journal.append([event], interlock.clock.wall_time_s())
        interlock.journal.record_outcome(command_id, "rejected", text)
    except Exception:
        log.exception("interlock: recording the rejection of command %s failed", command_id)
