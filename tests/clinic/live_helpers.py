"""A real interlock for the live tests: ``cryoderm interlock --source embedded`` in a process
of its own on a temporary journal (the clinic's CRYODERM_INTERLOCK_DIR), with its simulated
devices; the test copies its journal into the records as ``cryoderm serve``'s forwarder does."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryoderm.clinic.live import channel
from cryoderm.clinic.live.forward import forward_new
from cryoderm.interlock import ControlClient
from serving.processes import wait_for as until


@contextmanager
def interlock_process(journal_dir: Path) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cryoderm.cli",
            "interlock",
            "--source",
            "embedded",
            "--priority",
            "off",
            "--journal",
            str(journal_dir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with ControlClient(journal_dir) as control:
            until(lambda: control.health().alive or process.poll() is not None, timeout_s=120)
        assert process.poll() is None, "the interlock did not start"
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def forward() -> None:
    """Copy everything new from the journal into the records (the forwarder's work)."""
    journal = channel.journal()
    while forward_new(journal):
        pass
