"""The real processes the serving tests run: ``cryoderm serve`` and ``cryoderm interlock``,
each in a fresh data directory on a free port, and raw TCP clients that go away mid-answer."""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def wait_for(predicate: Callable[[], Any], timeout_s: float = 60.0, every_s: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError(f"condition not met within {timeout_s} s")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cryoderm(*args: str) -> list[str]:
    return [sys.executable, "-m", "cryoderm.cli", *args]


def clinic_env(data_dir: Path, **extra: str) -> dict[str, str]:
    # One web worker unless a test asks for more: each is a Django process to start, and
    # the tests of several are in test_workers.py.
    env = {**os.environ, "CRYODERM_DATA_DIR": str(data_dir), "CRYODERM_WEB_WORKERS": "1", **extra}
    for name in ("DATABASE_URL", "CRYODERM_TEST_DATABASE", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    return env


def migrate(data_dir: Path) -> None:
    subprocess.run(
        cryoderm("manage", "migrate", "--noinput"),
        env=clinic_env(data_dir),
        check=True,
        capture_output=True,
        timeout=300,
    )


def http_get(url: str, timeout_s: float = 10.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def answers(url: str) -> bool:
    try:
        return http_get(url, timeout_s=2.0)[0] < 500
    except OSError:
        return False


@contextmanager
def serve(data_dir: Path, *extra: str, env: dict[str, str] | None = None) -> Iterator[Any]:
    """``cryoderm serve`` on a free port until the block ends (SIGTERM, then SIGKILL)."""
    port = free_port()
    process = subprocess.Popen(
        cryoderm("serve", "--port", str(port), *extra),
        env={**clinic_env(data_dir), **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    process.base_url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    process.port = port  # type: ignore[attr-defined]
    try:
        wait_for(lambda: process.poll() is not None or answers(f"{process.base_url}/healthz"))
        assert process.poll() is None, f"cryoderm serve ended: {process.stderr.read().decode()}"
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def send_and_vanish(port: int, request: bytes, *, reset: bool, after_bytes: int = 0) -> None:
    """Send ``request``, read ``after_bytes`` of the answer, then go away: with a TCP reset
    (``reset``) or an ordinary close (FIN) that leaves the server writing into nothing."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(request)
        if after_bytes:
            client.recv(after_bytes)
        if reset:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def read_ready(path: Path) -> dict[str, Any]:
    return dict(wait_for(lambda: path.exists() and json.loads(path.read_text())))


TESTS = Path(__file__).resolve().parents[1]


def manage(data_dir: Path, *args: str) -> str:
    """``cryoderm manage ARGS`` in the data directory, the tests importable (personas)."""
    done = subprocess.run(
        cryoderm("manage", *args),
        env=clinic_env(data_dir, PYTHONPATH=str(TESTS)),
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.stdout.strip()


def user_token(data_dir: Path, username: str = "dana", role: str = "medical_director") -> str:
    """A staff user with ``role`` and a bearer token acting as them (printed once)."""
    manage(
        data_dir,
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model; "
        f"get_user_model().objects.create_user({username!r}, password='long enough secret 1')",
    )
    manage(data_dir, "grant_role", username, role)
    return manage(data_dir, "issue_token", username, "serving tests")


def raw_request(
    port: int, head: bytes, body: bytes = b"", *, timeout_s: float = 10.0
) -> tuple[int, bytes]:
    """Send ``head`` (request line and headers) and ``body``, then read the answer's status
    and whatever follows until the server closes or ``timeout_s`` passes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as client:
        client.sendall(head + body)
        received = b""
        try:
            while b"\r\n" not in received:
                chunk = client.recv(65536)
                if not chunk:
                    break
                received += chunk
            client.settimeout(1.0)
            while chunk := client.recv(65536):
                received += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    status = int(received.split(b" ", 2)[1]) if received.startswith(b"HTTP/") else 0
    return status, received


def children(pid: int) -> list[int]:
    """The living processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name (2nd field) is in parentheses and may hold spaces.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def command_line(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0")[:-1]]


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, ended but not yet reaped, does not)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"
