"""The watchdog: runs the interlock as a child process and starts a new one when it dies
or hangs.

The child is ``python -m cryoderm.cli interlock ...`` with the watchdog's own arguments
(minus ``--watchdog``). The watchdog judges the child by its progress, not by its pid: the
child's loop and network thread stamp the journal directory's progress file
(:mod:`.liveness`), and a child whose stamps stop (a loop blocked on one message, a
stopped process) is killed (SIGKILL) like one that died. A death or a kill is recorded in
the journal as ``watchdog-restart`` with the exit status and, for a hung child, why; the
child is restarted after a short pause that grows while it keeps dying (0.2 s doubling to
5 s; reset after 30 s of life). The new interlock closes the sessions the dead one left
open (their devices have already stopped on the missing heartbeat) and quarantines the
message the dead one was handling, so that the same input cannot wedge it again. SIGTERM or
SIGINT to the watchdog stops the child and ends.

One watchdog per journal (it holds ``DIR/watchdog.lock``), and it does not start a child
while another interlock holds the journal (:mod:`.lock`): it ends with exit code 2 and says
so. A child that ends with exit code 2 or 3 refused to start (a configuration error, a
refused broker): restarting it would not help, so the watchdog ends with the same code;
any other death is restarted.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from cryoderm.interlock.errors import InterlockError, JournalInUse
from cryoderm.interlock.journal import Journal
from cryoderm.interlock.liveness import judge, liveness_parameters, read_progress
from cryoderm.interlock.lock import DirectoryLock
from cryoderm.interlock.model import Event

# Exit codes of a child that refused to start (cryoderm.cli: input error, refused action).
REFUSED_EXIT_CODES = (2, 3)
FIRST_PAUSE_S = 0.2
MAX_PAUSE_S = 5.0
HEALTHY_AFTER_S = 30.0


def supervise(
    child_args: Sequence[str], journal_dir: Path, *, max_restarts: int | None = None
) -> int:
    """Run ``cryoderm <child_args>`` until told to stop; restart it whenever it dies.
    Raises JournalInUse when another watchdog or interlock has the journal."""
    own = DirectoryLock(journal_dir, "watchdog.lock", holder="watchdog")
    own.acquire()
    try:
        return _supervise(child_args, journal_dir, max_restarts)
    finally:
        own.release()


def _watch(
    child: subprocess.Popen[bytes], journal_dir: Path, started: float, halt: threading.Event
) -> tuple[int, str | None]:
    """Wait for the child to end, killing it if it hangs: (exit status, why it was judged
    hung or None). A hang must be seen twice in a row, a poll apart (a stamp read while it
    is being written could look old once)."""
    poll_s = liveness_parameters()["poll_s"]
    strikes = 0
    while True:
        try:
            return child.wait(timeout=poll_s), None
        except subprocess.TimeoutExpired:
            pass
        if halt.is_set():
            # Told to end: the child was sent SIGTERM; one that cannot take it (a stopped
            # or hung process) is killed.
            try:
                return child.wait(timeout=10.0), None
            except subprocess.TimeoutExpired:
                child.kill()
                return child.wait(), None
        hung = judge(read_progress(journal_dir), child.pid, started, time.monotonic())
        strikes = strikes + 1 if hung is not None else 0
        if hung is not None and strikes >= 2:
            print(
                f"cryoderm interlock watchdog: interlock pid {child.pid} hung ({hung}); restarting",
                file=sys.stderr,
                flush=True,
            )
            child.kill()
            return child.wait(), hung


def _supervise(child_args: Sequence[str], journal_dir: Path, max_restarts: int | None) -> int:
    halt = threading.Event()
    child: subprocess.Popen[bytes] | None = None

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        halt.set()
        if child is not None and child.poll() is None:
            child.terminate()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    pause, restarts = FIRST_PAUSE_S, 0
    while not halt.is_set():
        if DirectoryLock(journal_dir).held_by_another():
            raise JournalInUse(
                f"journal {str(journal_dir)!r} is in use by another interlock: "
                "one interlock per journal directory"
            )
        started = time.monotonic()
        child = subprocess.Popen([sys.executable, "-m", "cryoderm.cli", *child_args])
        status, hung = _watch(child, journal_dir, started, halt)
        if halt.is_set():
            return 0
        if status in REFUSED_EXIT_CODES and hung is None:
            return status
        lived_s = time.monotonic() - started
        detail: dict[str, Any] = {
            "exit_status": status,
            "lived_s": round(lived_s, 3),
            "pid": child.pid,
        }
        if hung is not None:
            detail["hung"] = hung
        _record_restart(journal_dir, detail)
        restarts += 1
        if max_restarts is not None and restarts > max_restarts:
            return 1
        if lived_s > HEALTHY_AFTER_S:
            pause = FIRST_PAUSE_S
        halt.wait(pause)
        pause = min(pause * 2, MAX_PAUSE_S)
    return 0


def _record_restart(journal_dir: Path, detail: dict[str, Any]) -> None:
    """The restart in the journal, when it can be written: a watchdog that cannot record
    (a full disk) must still restart the interlock, which guards once it can write."""
    try:
        with Journal(journal_dir) as journal:
            journal.append([Event("watchdog-restart", None, None, None, detail)], time.time())
    except (InterlockError, sqlite3.Error) as error:
        print(
            f"cryoderm interlock watchdog: the restart could not be journalled ({error})",
            file=sys.stderr,
            flush=True,
        )
