"""Scheduling priority for the interlock's process: a safety loop should not queue behind
the clinic's batch work (physics runs, test suites, reports) for the CPU.

:func:`elevate` is called by ``cryoderm interlock`` before any of its threads exist (Linux
applies a scheduling policy per thread, and threads inherit their creator's), so the
transport's network thread, the rules and the journal writer all get it. Modes:

- ``realtime``: the POSIX real-time policy ``SCHED_FIFO`` at a low real-time priority
  (data/interlock.toml ``[scheduling]``): the interlock runs as soon as it is runnable,
  ahead of every ordinary process. Every thread of the process gets it, because they share
  Python's GIL: a thread left at the normal policy could be preempted while it holds the GIL
  and so hold up the real-time ones (a priority inversion). The kernel's real-time
  throttling (``sched_rt_runtime_us``, 95 % by default) still leaves the rest of the
  machine some CPU should the interlock ever spin.
- ``nice``: a negative nice value (a bigger share of the CPU under the normal policy; with
  Linux's session autogroups it only weighs against processes of the same session).
- ``auto`` (the command's default): ``realtime``, else ``nice``, else unchanged.
- ``off``: unchanged (e.g. the interlock in a thread of another process).

Raising a priority needs a privilege (root or CAP_SYS_NICE, or an RLIMIT_RTPRIO /
RLIMIT_NICE that allows it). Without it the interlock runs at the normal priority and says
why (logged, and returned so that it is recorded in the journal's ``interlock-started``).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from cryoderm.interlock.errors import InvalidInterlockInput
from cryoderm.interlock.limits import technical_parameters

log = logging.getLogger(__name__)

MODES = ("auto", "realtime", "nice", "off")


def elevate(mode: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """Raise the calling thread's scheduling priority (and so that of the threads it starts
    afterwards); returns what was obtained: ``{"policy", "priority" or "nice", "reason"}``.
    Never raises for a refused privilege: the interlock must run anyway."""
    if mode not in MODES:
        raise InvalidInterlockInput(f"priority = {mode!r}: one of {', '.join(MODES)}")
    table = parameters if parameters is not None else dict(technical_parameters()["scheduling"])
    if mode == "off":
        return _current("not requested")
    reasons: list[str] = []
    if mode in ("auto", "realtime"):
        priority = int(table["realtime_priority"])
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
        except (AttributeError, OSError) as error:
            reasons.append(f"SCHED_FIFO {priority} refused ({_why(error)})")
        else:
            log.info("interlock scheduling: SCHED_FIFO priority %d", priority)
            return {"policy": "SCHED_FIFO", "priority": priority, "reason": "requested"}
        if mode == "realtime":
            return _refused(reasons)
    nice = int(table["nice"])
    try:
        current = os.getpriority(os.PRIO_PROCESS, 0)
        if current > nice:
            os.setpriority(os.PRIO_PROCESS, 0, nice)
    except (AttributeError, OSError) as error:
        reasons.append(f"nice {nice} refused ({_why(error)})")
        return _refused(reasons)
    if reasons:
        log.warning("interlock scheduling: %s; running at nice %d", "; ".join(reasons), nice)
    return {"policy": "SCHED_OTHER", "nice": nice, "reason": "; ".join(reasons) or "requested"}


def _refused(reasons: list[str]) -> dict[str, Any]:
    reason = "; ".join(reasons)
    log.warning("interlock scheduling: %s; running at the normal priority", reason)
    return _current(reason)


_POLICY_NAMES = {
    getattr(os, name): name
    for name in ("SCHED_OTHER", "SCHED_BATCH", "SCHED_IDLE", "SCHED_FIFO", "SCHED_RR")
    if hasattr(os, name)
}


def _current(reason: str) -> dict[str, Any]:
    """The calling thread's policy as it is (it may have been inherited from a parent)."""
    try:
        policy = _POLICY_NAMES.get(os.sched_getscheduler(0), "other")
        nice: int | None = os.getpriority(os.PRIO_PROCESS, 0)
    except (AttributeError, OSError):
        policy, nice = "unknown", None
    return {"policy": policy, "nice": nice, "reason": reason}


def _why(error: BaseException) -> str:
    if isinstance(error, PermissionError):
        return "not permitted: needs root, CAP_SYS_NICE or a raised RLIMIT_RTPRIO/RLIMIT_NICE"
    if isinstance(error, AttributeError):
        return "not supported on this system"
    return str(error)
