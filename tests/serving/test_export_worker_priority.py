"""The export worker runs only on CPU time nothing else wants.

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
