"""The interlock beside the web: ``cryoderm serve`` starts it as a process of its own and
keeps it there.

The child is ``cryoderm interlock --watchdog --source embedded --journal DIR``: its watchdog
restarts an interlock that dies or hangs, and this supervisor restarts the watchdog should
it end (it never hosts the stop path itself). When another interlock already guards the
journal (one started by a service manager, or left running by a web process that was
killed: the stop path outlives the web), the watchdog refuses to start a second one; the
clinic then works with that one, and takes over when it is gone. At exit the child is
terminated: its devices stop when they hear no more heartbeats.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
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
                self._wait_for_foreign_interlock()
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
