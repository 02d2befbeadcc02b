"""Running the real ``cryoderm interlock`` process in a test, and waiting on what it does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from cryoderm.interlock.control import ControlClient
from cryoderm.interlock.journal import Journal, entries_of


def wait_for(predicate, timeout_s=15.0, every_s=0.02):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError("condition not met in time")


def read_ready(path: Path, not_pid: int | None = None, timeout_s: float = 30.0):
    def ready():
        if not path.exists():
            return None
        info = json.loads(path.read_text())
        return info if info["pid"] != not_pid else None

    return wait_for(ready, timeout_s)


def interlock_command(journal_dir: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "cryoderm.cli",
        "interlock",
        "--journal",
        str(journal_dir),
        "--priority",
        "off",
        *args,
    ]


def start_interlock(
    journal_dir: Path,
    *args: str,
    credentials=None,
    env: dict | None = None,
    stderr=subprocess.PIPE,
) -> subprocess.Popen:
    """The interlock process; credentials: its CredentialStore (mqtt and http sources)."""
    if credentials is not None:
        args = (*args, "--credentials", str(credentials.directory))
    return subprocess.Popen(
        interlock_command(journal_dir, *args),
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )


def start_session(journal_dir: Path, session_id: str, device_id: str, **kwargs) -> None:
    control = ControlClient(journal_dir)
    control.start(session_id, device_id, "cheek", kwargs.pop("modality", "cold-air"), **kwargs)
    control.close()
    with Journal(journal_dir) as journal:
        wait_for(lambda: entries_of(journal, session_id, ["session-started"]))


def stop_process(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
