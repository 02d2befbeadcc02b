"""Several web worker processes, one interlock (``cryoderm serve --workers``).

Against the real processes: the workers are children of the server, never hosts of the
interlock; a worker killed mid-service is replaced while the others answer and the
interlock runs on untouched; the server killed with SIGKILL takes its workers with it (the
port is free again) but not the interlock, which goes on guarding; the next server adopts
that interlock (no second one starts) and ends it when it is itself stopped.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from .processes import (
    alive,
    children,
    clinic_env,
    command_line,
    cryoderm,
    free_port,
    http_get,
    migrate,
    serve,
    stop,
    wait_for,
)

pytestmark = pytest.mark.slow

WORKER = "cryoderm.clinic.server.web_worker"


def web_workers(server_pid: int) -> list[int]:
    return sorted(p for p in children(server_pid) if WORKER in command_line(p))


def interlocks(journal: Path) -> dict[str, list[int]]:
    """The interlock and watchdog processes running on ``journal``."""
    found: dict[str, list[int]] = {"interlock": [], "watchdog": []}
    for entry in Path("/proc").glob("[0-9]*"):
        args = command_line(int(entry.name))
        if "interlock" in args and str(journal) in args and alive(int(entry.name)):
            found["watchdog" if "--watchdog" in args else "interlock"].append(int(entry.name))
    return found


def lock_pid(data_dir: Path, name: str) -> int:
    return int((data_dir / "interlock" / name).read_text().strip())


def healthy(base_url: str) -> bool:
    try:
        return http_get(f"{base_url}/healthz", timeout_s=5)[0] == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def migrated_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir: Path = tmp_path_factory.mktemp("clinic")
    migrate(data_dir)
    return data_dir


@pytest.fixture
def clinic_dir(tmp_path: Path) -> Path:
    migrate(tmp_path)
    return tmp_path


def test_a_killed_worker_is_replaced_while_the_others_serve_and_the_interlock_runs_on(
    clinic_dir: Path,
) -> None:
    with serve(clinic_dir, "--workers", "2") as server:
        workers = wait_for(lambda: len(web_workers(server.pid)) == 2 and web_workers(server.pid))
        interlock = lock_pid(clinic_dir, "interlock.lock")
        watchdog = lock_pid(clinic_dir, "watchdog.lock")
        # The stop path hangs off the server, never off a web worker.
        assert interlock not in children(workers[0]) + children(workers[1])
        assert watchdog in children(server.pid)

        os.kill(workers[0], signal.SIGKILL)
        # Meanwhile the other worker answers every request.
        assert all(healthy(server.base_url) for _ in range(10))
        replaced = wait_for(
            lambda: (now := web_workers(server.pid)) and len(now) == 2 and workers[0] not in now,
            timeout_s=30,
        )
        assert replaced
        assert workers[1] in web_workers(server.pid)
        assert alive(interlock) and lock_pid(clinic_dir, "interlock.lock") == interlock
        status, body = http_get(f"{server.base_url}/healthz")
        assert status == 200 and b'"interlock": "alive"' in body, body


def test_killing_the_server_ends_its_workers_and_the_next_one_adopts_the_interlock(
    clinic_dir: Path,
) -> None:
    journal = clinic_dir / "interlock"
    with serve(clinic_dir, "--workers", "2") as first:
        workers = wait_for(lambda: len(web_workers(first.pid)) == 2 and web_workers(first.pid))
        interlock = lock_pid(clinic_dir, "interlock.lock")
        first.send_signal(signal.SIGKILL)
        first.wait()
        # No worker serves on without its server, and the port is free again.
        wait_for(lambda: not any(alive(w) for w in workers), timeout_s=30)
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", first.port))
        # The stop path outlives the web: the interlock still guards the journal.
        assert alive(interlock)
        assert interlocks(journal)["interlock"] == [interlock]

    with serve(clinic_dir, "--workers", "2") as second:
        assert healthy(second.base_url)
        _status, body = http_get(f"{second.base_url}/healthz")
        assert b'"interlock": "alive"' in body, body
        # Adopted, not doubled: still the one interlock (and its one watchdog).
        running = interlocks(journal)
        assert running["interlock"] == [interlock]
        assert len(running["watchdog"]) == 1
        stop(second)
        assert second.returncode == 0
    # Stopped on purpose, the server ends the interlock it adopted, as it would its own.
    wait_for(lambda: not any(interlocks(journal).values()), timeout_s=30)


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (("--workers", "0"), {}, "--workers = 0"),
        ((), {"CRYODERM_WEB_WORKERS": "two"}, "CRYODERM_WEB_WORKERS = 'two'"),
        ((), {"CRYODERM_WEB_WORKERS": "0"}, "CRYODERM_WEB_WORKERS = 0"),
    ],
)
def test_a_worker_count_that_is_not_a_whole_number_above_0_is_refused_at_start_up(
    migrated_once: Path, args: tuple[str, ...], env: dict[str, str], named: str
) -> None:
    port = free_port()
    done = subprocess.run(
        cryoderm("serve", "--port", str(port), *args),
        env=clinic_env(migrated_once, **env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert named in done.stderr
    assert "Traceback" not in done.stderr
