"""A peer that goes away never kills a long-running process (the SIGPIPE defect).

``cryoderm serve`` and ``cryoderm interlock`` run as real processes; raw TCP clients ask for
an answer and leave before it is written, with an ordinary close or a reset. Writing into
such a socket raises SIGPIPE, which used to end the process (exit 141, nothing logged).
Short commands that print into a pipe closed early (``| head``) still end quietly.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from .processes import (
    cryoderm,
    http_get,
    migrate,
    read_ready,
    send_and_vanish,
    serve,
    stop,
)

pytestmark = pytest.mark.slow

OPENAPI = b"GET /api/openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


@pytest.fixture(scope="module")
def clinic_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("clinic")
    migrate(data_dir)
    return data_dir


@pytest.mark.parametrize("reset", [False, True], ids=["close", "reset"])
def test_serve_survives_clients_that_leave_in_the_middle_of_the_openapi_answer(
    clinic_dir: Path, reset: bool
) -> None:
    with serve(clinic_dir) as server:
        for _ in range(20):
            send_and_vanish(server.port, OPENAPI, reset=reset, after_bytes=100 if reset else 0)
            time.sleep(0.02)
        time.sleep(0.5)
        assert server.poll() is None, f"cryoderm serve died with {server.returncode}"
        status, body = http_get(f"{server.base_url}/healthz")
        assert status == 200, body


def test_the_interlock_survives_ingest_clients_that_close_before_the_answer(
    tmp_path: Path,
) -> None:
    from cryoderm.interlock.credentials import CredentialStore

    ready = tmp_path / "ready.json"
    # The ingest wants the device's token (docs/interlock.md, "Authenticated devices").
    credentials = CredentialStore(tmp_path / "credentials", broker_group=None)
    credentials.init()
    token = credentials.add("dev-1").token
    interlock = subprocess.Popen(
        cryoderm(
            "interlock",
            "--source",
            "http",
            "--http-port",
            "0",
            "--priority",
            "off",
            "--journal",
            str(tmp_path / "journal"),
            "--credentials",
            str(credentials.directory),
            "--ready-file",
            str(ready),
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port = read_ready(ready)["port"]
        for seq in range(1, 41):
            body = json.dumps(
                {
                    "device_id": "dev-1",
                    "seq": seq,
                    "skin_temp_c": 30.0,
                    "sampled_wall_time_s": time.time(),
                }
            ).encode()
            request = (
                b"POST /v1/readings HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Authorization: Bearer %s\r\n"
                % token.encode()
                + b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
                + body
            )
            send_and_vanish(port, request, reset=seq % 2 == 0)
            time.sleep(0.02)
        time.sleep(0.5)
        assert interlock.poll() is None, f"cryoderm interlock died with {interlock.returncode}"
        import urllib.request

        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/devices/dev-1/commands",
            headers={"Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
    finally:
        stop(interlock)


@pytest.mark.parametrize("output", [[], ["--format", "json"]], ids=["table", "json"])
def test_a_command_printing_into_a_pipe_closed_early_ends_quietly(output: list[str]) -> None:
    # `true` exits without reading, so the command writes into a pipe with no reader.
    command = " ".join(cryoderm("zones", *output))
    completed = subprocess.run(
        ["bash", "-c", f"{command} | true; exit ${{PIPESTATUS[0]}}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode in (1, 141), completed.stderr
    assert completed.stderr == ""
