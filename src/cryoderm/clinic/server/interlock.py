"""The interlock beside the web: ``cryoderm serve`` starts it as a process of its own and
keeps it there.

The child is ``cryoderm interlock --watchdog --source embedded --journal DIR``: its watchdog
restarts an interlock that dies or hangs, and this supervisor restarts the watchdog should
it end (it never hosts the stop path itself). When another interlock already guards the
journal (one started by a service manager, or left running by a web process that was
killed: the stop path outlives the web), the watchdog refuses to start a second one; the
clinic then works with that one, and takes over when it is gone. At exit the child is
terminated: its devices stop when they hear no more heartbeats.

A foreign interlock whose watchdog runs the very command this supervisor would have run
(the one a killed ``cryoderm serve`` of this data directory left guarding) is adopted: it
is ended at exit like the supervisor's own child, so a serve killed and started again leaves
exactly one interlock behind it while it runs and none after it stops. An interlock started
otherwise (a service manager, another source or journal) is never ended from here.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from cryoderm.interlock.lock import DirectoryLock

log = logging.getLogger(__name__)

#: Exit code of a watchdog that found the journal guarded by another interlock (cli.py).
REFUSED = 2
#: assumption: checking every 5 s whether a foreign interlock is gone keeps the clinic
#: without its own interlock for seconds at most after that one ends (its devices stop on
#: the missing heartbeat meanwhile).
RECHECK_S = 5.0
#: assumption: a watchdog that ends within seconds keeps ending; wait 1 s before the next,
#: 5 s after repeated failures, so a broken set-up is logged, not spun.
RESTART_PAUSE_S = (1.0, 5.0)
#: assumption: a watchdog told to end (SIGTERM) ends its interlock and itself within the
#: interlock's own shutdown, well under 15 s; the same bound as for the supervisor's child.
ADOPTED_STOP_S = 15.0
WATCHDOG_LOCK = "watchdog.lock"


class InterlockSupervisor:
    def __init__(
        self, journal_dir: Path, source: str = "embedded", extra: Sequence[str] = ()
    ) -> None:
        self.journal_dir = journal_dir
        self.command = [
            sys.executable,
            "-m",
            "cryoderm.cli",
            "interlock",
            "--watchdog",
            "--source",
            source,
            "--journal",
            str(journal_dir),
            *extra,
        ]
        self._halt = threading.Event()
        self._adopted = False
        self._child: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="interlock-supervisor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._halt.set()
        with self._lock:
            child = self._child
        if child is not None and child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        self._thread.join(timeout=15)
        if self._adopted:
            self._end_adopted()

    def adopted_watchdog(self) -> int | None:
        """The pid of the watchdog that guards the journal now, if it runs this supervisor's
        own command (a killed serve's); None otherwise (Linux ``/proc``; elsewhere None)."""
        lock_path = self.journal_dir / WATCHDOG_LOCK
        if not DirectoryLock(self.journal_dir, WATCHDOG_LOCK, "watchdog").held_by_another():
            return None
        try:
            pid = int(lock_path.read_text().strip())
            arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1]
        except (OSError, ValueError):
            return None
        # The interpreter's path aside (the same installation may be reached by two paths).
        mine = [os.fsencode(part) for part in self.command[1:]]
        return pid if arguments[1:] == mine else None

    def _end_adopted(self) -> None:
        pid = self.adopted_watchdog()
        if pid is None:
            return
        log.warning("ending the interlock adopted from an earlier serve (watchdog pid %d)", pid)
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        locks = [
            DirectoryLock(self.journal_dir, WATCHDOG_LOCK, "watchdog"),
            DirectoryLock(self.journal_dir),
        ]
        deadline = time.monotonic() + ADOPTED_STOP_S
        while time.monotonic() < deadline:
            if not any(lock.held_by_another() for lock in locks):
                return
            time.sleep(0.1)
        log.error(
            "the adopted interlock's watchdog (pid %d) did not end within %g s", pid, ADOPTED_STOP_S
        )

    def _run(self) -> None:
        failures = 0
        while not self._halt.is_set():
            with self._lock:
                if self._halt.is_set():
                    return
                # Its own session: Ctrl-C in the terminal reaches the web server, which then
                # ends the interlock itself, last.
                self._child = subprocess.Popen(self.command, start_new_session=True)
            status = self._child.wait()
            if self._halt.is_set():
                return
            if status == REFUSED:
                log.warning(
                    "another interlock guards %s: the clinic works with it and takes over "
                    "when it ends",
                    self.journal_dir,
                )
                self._adopted = True
                self._wait_for_foreign_interlock()
                if self._halt.is_set():
                    return  # still adopted: stop() ends it
                self._adopted = False
                failures = 0
                continue
            failures += 1
            pause = RESTART_PAUSE_S[min(failures, len(RESTART_PAUSE_S)) - 1]
            log.error("the interlock's watchdog ended (exit %s); restarting in %g s", status, pause)
            self._halt.wait(pause)

    def _wait_for_foreign_interlock(self) -> None:
        lock = DirectoryLock(self.journal_dir)
        while not self._halt.wait(RECHECK_S):
            if not lock.held_by_another():
                return
