"""Operator commands from another process, through the journal's command table.

The clinic (or any process that can open the journal directory) calls
:class:`ControlClient` methods; the interlock takes the commands within one loop tick and
applies them as if called in-process (:class:`~.runtime.Interlock`). A command the
interlock cannot apply (unknown session, no named user, wrong state) is recorded in the
journal as ``command-rejected`` with the reason, so the caller sees the answer there.

Command bodies (JSON): ``{"action": "stop"|"pause"|"resume", "session_id", "user"}``,
``{"action": "acknowledge", "session_id", "alarm_id", "user"}``,
``{"action": "silence", "session_id", "alarm_id", "user", "duration_s"}``,
``{"action": "start", "session_id", "device_id", "zone", "modality",
"planned_duration_s"}`` (limits from the registry for the zone and modality).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryoderm.interlock.errors import InterlockError, InvalidInterlockInput
from cryoderm.interlock.journal import Journal
from cryoderm.interlock.model import Event, PlannedCurve, SessionSpec
from cryoderm.interlock.runtime import Interlock
from cryoderm.interlock.wire import caps, clip, decode, show

log = logging.getLogger(__name__)

SpecBuilder = Callable[[dict[str, Any]], SessionSpec]


class ControlClient:
    """Send operator commands to the interlock that owns ``journal_dir``. Each method returns
    the command id once the command is durable; the outcome appears in the journal."""

    def __init__(self, journal_dir: str | Path) -> None:
        self.journal = Journal(journal_dir)

    def close(self) -> None:
        self.journal.close()

    def _submit(self, body: dict[str, Any]) -> int:
        return self.journal.submit_command(body, time.time())

    def start(
        self,
        session_id: str,
        device_id: str,
        zone: str,
        modality: str,
        planned_duration_s: float | None = None,
        planned_curve: PlannedCurve | None = None,
    ) -> int:
        """Guard a session (the clinic has checked its gates). planned_curve: the plan's
        surface curve, which enables the stuck-sensor test."""
        curve = None
        if planned_curve is not None:
            curve = {"times_s": list(planned_curve.times_s), "temps_c": list(planned_curve.temps_c)}
        return self._submit(
            {
                "action": "start",
                "session_id": session_id,
                "device_id": device_id,
                "zone": zone,
                "modality": modality,
                "planned_duration_s": planned_duration_s,
                "planned_curve": curve,
            }
        )

    def stop(self, session_id: str, user: str) -> int:
        return self._submit({"action": "stop", "session_id": session_id, "user": user})

    def pause(self, session_id: str, user: str) -> int:
        return self._submit({"action": "pause", "session_id": session_id, "user": user})

    def resume(self, session_id: str, user: str) -> int:
        return self._submit({"action": "resume", "session_id": session_id, "user": user})

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


def apply_command(interlock: Interlock, body: dict[str, Any], build_spec: SpecBuilder) -> None:
    """Apply one command body to the interlock; raises InterlockError when it cannot."""
    action = body.get("action")
    session_id = str(body.get("session_id", ""))
    user = str(body.get("user", ""))
    if action == "start":
        interlock.start_session(build_spec(body))
    elif action == "stop":
        interlock.stop(session_id, user)
    elif action == "pause":
        interlock.pause(session_id, user)
    elif action == "resume":
        interlock.resume(session_id, user)
    elif action == "acknowledge":
        interlock.acknowledge(session_id, str(body.get("alarm_id", "")), user)
    elif action == "silence":
        duration = body.get("duration_s")
        if not isinstance(duration, int | float):
            raise InvalidInterlockInput(f"duration_s = {duration!r}: a number of seconds")
        interlock.silence(session_id, str(body.get("alarm_id", "")), user, float(duration))
    else:
        raise InvalidInterlockInput(
            f"action = {action!r}: one of start, stop, pause, resume, acknowledge, silence"
        )


def journal_command_poll(
    interlock: Interlock,
    build_spec: SpecBuilder,
    start: Callable[[dict[str, Any]], None] | None = None,
) -> Callable[[], None]:
    """A poll function for :meth:`Interlock.set_command_poll` reading the journal's commands.

    Each command on its own: one that cannot be read or applied (whatever it raises) is
    recorded as ``command-rejected`` and the next is applied. start: optional handler for
    start commands (the embedded fleet plans off the loop)."""

    def poll() -> None:
        for command_id, raw in interlock.journal.take_commands():
            body: dict[str, Any] | None = None
            try:
                decoded = decode(raw if isinstance(raw, str | bytes) else b"", caps("control"))
                if not isinstance(decoded, dict):
                    raise InvalidInterlockInput(
                        f"command = {show(decoded)}: a JSON object is required"
                    )
                body = decoded
                if start is not None and body.get("action") == "start":
                    start(body)
                    continue
                apply_command(interlock, body, build_spec)
            except Exception as error:
                _reject(interlock, command_id, body, error)

    return poll


def _reject(
    interlock: Interlock, command_id: int, body: dict[str, Any] | None, error: Exception
) -> None:
    text = str(error) if isinstance(error, InterlockError) else f"{type(error).__name__}: {error}"
    session_id = body.get("session_id") if body is not None else None
    try:
        interlock.journal.append(
            [
                Event(
                    "command-rejected",
                    session_id if isinstance(session_id, str) and session_id else None,
                    None,
                    None,
                    {"command_id": command_id, "command": body, "error": clip(text)},
                )
            ],
            interlock.clock.wall_time_s(),
        )
    except Exception:
        log.exception("interlock: recording the rejection of command %s failed", command_id)
