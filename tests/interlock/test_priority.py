"""Scheduling priority of ``cryoderm interlock`` (--priority): real-time where permitted,
else nice, else normal with the reason said, and recorded in the journal."""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cryoderm.interlock.journal import Journal
from cryoderm.interlock.priority import elevate

pytestmark = pytest.mark.slow

ELEVATE = "import json; from cryoderm.interlock.priority import elevate; print(json.dumps(elevate({mode!r})))"


def _elevate_in_child(mode: str, **popen) -> dict:
    # A child process: a scheduling policy, once raised, stays with the thread.
    out = subprocess.run(
        [sys.executable, "-c", ELEVATE.format(mode=mode)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        **popen,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_off_leaves_the_scheduling_as_it_is():
    got = elevate("off")
    assert got["reason"] == "not requested" and got["policy"] in ("SCHED_OTHER", "SCHED_FIFO")


def test_an_unknown_mode_is_refused():
    from cryoderm.interlock.errors import InvalidInterlockInput

    with pytest.raises(InvalidInterlockInput, match="priority"):
        elevate("highest")


@pytest.mark.skipif(os.geteuid() != 0, reason="raising a priority needs root here")
def test_auto_gives_real_time_scheduling_where_permitted():
    got = _elevate_in_child("auto")
    assert got == {"policy": "SCHED_FIFO", "priority": 10, "reason": "requested"}


def _without_cap_sys_nice() -> None:
    """In the child before exec: drop CAP_SYS_NICE from the capability bounding set (so the
    program it runs does not have it) and allow no real-time or raised nice by rlimit."""
    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop, cap_sys_nice = 24, 23
    if libc.prctl(pr_capbset_drop, cap_sys_nice, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP, CAP_SYS_NICE)")
    resource.setrlimit(resource.RLIMIT_RTPRIO, (0, 0))
    resource.setrlimit(resource.RLIMIT_NICE, (0, 0))


@pytest.mark.skipif(sys.platform != "linux", reason="Linux capabilities")
def test_without_the_privilege_the_interlock_runs_at_the_normal_priority_and_says_why():
    got = _elevate_in_child("auto", preexec_fn=_without_cap_sys_nice)
    assert got["policy"] == "SCHED_OTHER"
    assert "SCHED_FIFO 10 refused (not permitted" in got["reason"]
    assert "nice -10 refused (not permitted" in got["reason"]


def _policy_of(pid: int, tid: str) -> int:
    # /proc/PID/task/TID/stat field 41 is the scheduling policy (1: SCHED_FIFO).
    fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[38])


@pytest.mark.skipif(os.geteuid() != 0, reason="raising a priority needs root here")
def test_every_thread_of_the_interlock_process_runs_real_time_and_the_journal_says_so(
    tmp_path, credentials
):
    journal_dir, ready = tmp_path / "journal", tmp_path / "ready.json"
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "cryoderm.cli", "interlock", "--source", "http"),
            *("--http-port", "0", "--journal", str(journal_dir), "--ready-file", str(ready)),
            *("--credentials", str(credentials.directory)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        info = json.loads(ready.read_text())
        assert info["scheduling"]["policy"] == "SCHED_FIFO"
        threads = os.listdir(f"/proc/{process.pid}/task")
        assert len(threads) >= 3  # main, loop, journal writer, HTTP server
        assert {_policy_of(process.pid, tid) for tid in threads} == {os.SCHED_FIFO}
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(20)
    with Journal(journal_dir) as journal:
        started = [e for e in journal.read_after(0, 100) if e.kind == "interlock-started"]
    assert started[0].payload["scheduling"]["policy"] == "SCHED_FIFO"
