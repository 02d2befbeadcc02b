"""The server's processes keep out of the requests' way: the export worker runs only on
CPU time nothing else wants, and a web worker's start-up objects are frozen out of garbage
collection.

Under the HTTP load test an export worker at nice 10 still took 0.6-0.7 of a core while the
clinic's requests waited (p99 250 ms against 48-65 ms without exports): nice orders
processes only within one scheduling group. The worker now asks Linux for ``SCHED_IDLE``.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = (
    "import os; from cryoderm.clinic.server.export_worker import yield_the_cpu; "
    "yield_the_cpu(); print(os.sched_getscheduler(0), os.nice(0))"
)


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="SCHED_IDLE is Linux's")
def test_the_export_worker_takes_the_idle_scheduling_class() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    policy, niceness = (int(field) for field in done.stdout.split())
    assert policy == os.SCHED_IDLE
    assert niceness >= 10


def test_a_web_worker_keeps_its_start_up_objects_out_of_garbage_collection() -> None:
    """A full collection of the start-up objects took 32-35 ms, a pause for every request
    of the process; frozen, collections walk only what requests made."""
    probe = (
        "import gc; from cryoderm.clinic import runtime; runtime.setup(); "
        "from cryoderm.clinic.server.web_worker import _freeze_what_startup_made; "
        "_freeze_what_startup_made(); print(gc.get_freeze_count())"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert int(done.stdout.split()[-1]) > 10_000
