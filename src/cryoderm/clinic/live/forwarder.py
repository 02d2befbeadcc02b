"""The forwarder: a thread of ``cryoderm serve`` that keeps the records up to date with the
interlock's journal (:func:`.forward.forward_new`), every half second.

It is the only writer of what the interlock did; requests only read. A database that is
down or locked delays the copy, never the interlock (which needs no database), and the copy
resumes where it stopped."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from django.db import DatabaseError, connections

from cryoderm.clinic.live.forward import forward_new
from cryoderm.interlock import Journal

log = logging.getLogger(__name__)

#: assumption: half a second keeps the session record within a second of the interlock
#: (the live page itself follows the journal directly) at two small queries per second.
INTERVAL_S = 0.5


class Forwarder:
    def __init__(self, journal_dir: Path, interval_s: float = INTERVAL_S) -> None:
        self.journal_dir = journal_dir
        self.interval_s = interval_s
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, name="journal-forwarder", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._halt.set()
        self._thread.join(timeout=10.0)

    def _run(self) -> None:
        journal = Journal(self.journal_dir)
        try:
            while not self._halt.wait(self.interval_s):
                try:
                    while forward_new(journal) and not self._halt.is_set():
                        pass
                except DatabaseError as error:
                    log.warning("journal forwarding waits for the database: %s", error)
                except Exception:
                    log.exception("journal forwarding failed; retrying")
                finally:
                    connections.close_all()
        finally:
            journal.close()
