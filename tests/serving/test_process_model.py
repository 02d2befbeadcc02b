"""One command starts everything, and the web never hosts the stop path.

Against the real ``cryoderm serve``: the interlock runs in a process of its own (it holds
the journal's lock, not the web); a zone started through the API is guarded by it; browsers
that leave the live page mid-stream (close or reset) cost the server nothing while the zone
stays guarded (the interlock stops the lingering wand at the floor, and the records get the
stop, attributed to the interlock, at the journal's time); killing the web leaves the
interlock guarding, and a new web adopts it (and ends it when stopped).
"""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .processes import (
    http_get,
    manage,
    migrate,
    send_and_vanish,
    serve,
    wait_for,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data_dir: Path = tmp_path_factory.mktemp("clinic")
    migrate(data_dir)
    seed = (Path(__file__).parent / "seed_live.py").read_text()
    cookie, session_id = manage(data_dir, "shell", "-c", seed).splitlines()[-2:]
    with serve(data_dir) as server:
        yield {
            "server": server,
            "session": int(session_id),
            "cookie": cookie,
            "data_dir": data_dir,
        }


# Any 32 characters form a CSRF secret Django accepts when the cookie and the header agree.
CSRF_SECRET = "s" * 32


def api(clinic: dict[str, Any], path: str, body: Any = None) -> tuple[int, Any]:
    """alice's signed-in browser session speaking to the API: starting the cold is an act of
    a signed-in practitioner, never of an API token."""
    request = urllib.request.Request(
        clinic["server"].base_url + "/api" + path,
        data=None if body is None else json.dumps(body).encode(),
        headers={
            "Cookie": f"cryoderm_session={clinic['cookie']}; csrftoken={CSRF_SECRET}",
            "X-CSRFToken": CSRF_SECRET,
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def interlock_pid(data_dir: Path) -> int:
    text = (data_dir / "interlock" / "interlock.lock").read_text().strip()
    return int(text)


def test_the_interlock_is_a_process_of_its_own_and_healthz_says_it_is_alive(clinic) -> None:
    status, body = http_get(f"{clinic['server'].base_url}/healthz")
    assert status == 200, body
    assert json.loads(body)["interlock"] == "alive"
    pid = interlock_pid(clinic["data_dir"])
    assert pid != clinic["server"].pid
    os.kill(pid, 0)  # it exists


def test_a_guarded_zone_outlives_browsers_that_leave_the_live_page(clinic) -> None:
    session = clinic["session"]
    status, body = api(clinic, f"/sessions/{session}/zones/cheek/start", {"fault": "linger"})
    assert status == 200, body
    # Browsers leave the live page (its event stream) and the OpenAPI document mid-answer,
    # with an ordinary close or a reset: the server goes on writing into nothing.
    stream = (
        f"GET /sessions/{session}/live/stream/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Cookie: cryoderm_session={clinic['cookie']}\r\n\r\n"
    ).encode()
    openapi = b"GET /api/openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    for n in range(20):
        send_and_vanish(
            clinic["server"].port, stream if n % 2 else openapi, reset=n % 4 < 2, after_bytes=200
        )
    time.sleep(2.0)  # the abandoned streams' next writes (readings, the status every second)
    assert clinic["server"].poll() is None

    def stopped() -> Any:
        status, zones = api(clinic, f"/sessions/{session}/zones")
        assert status == 200
        return zones[0]["status"] == "stopped" and zones[0]

    zone = wait_for(stopped, timeout_s=180, every_s=0.5)
    assert zone["stop_reason"] in ("floor", "predicted-floor")
    assert clinic["server"].poll() is None
    status, _ = http_get(f"{clinic['server'].base_url}/healthz")
    assert status == 200


def test_killing_the_web_leaves_the_interlock_guarding_and_a_new_web_uses_it(clinic) -> None:
    pid = interlock_pid(clinic["data_dir"])
    clinic["server"].send_signal(signal.SIGKILL)
    clinic["server"].wait()
    os.kill(pid, 0)  # the stop path survived the web
    with serve(clinic["data_dir"]) as again:
        status, body = http_get(f"{again.base_url}/healthz")
        assert status == 200, body
        assert interlock_pid(clinic["data_dir"]) == pid
        watchdog = int((clinic["data_dir"] / "interlock" / "watchdog.lock").read_text().strip())
    # The new web adopted the first web's interlock: stopping it ends that one too.
    for process in (pid, watchdog):
        wait_for(lambda p=process: not _alive(p), timeout_s=30)


def test_stopping_the_web_stops_its_interlock_too(tmp_path: Path) -> None:
    migrate(tmp_path)
    with serve(tmp_path) as server:
        pid = interlock_pid(tmp_path)
        watchdog = int((tmp_path / "interlock" / "watchdog.lock").read_text().strip())
    assert server.returncode == 0
    for process in (pid, watchdog):
        wait_for(lambda p=process: not _alive(p), timeout_s=30)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = (
        Path(f"/proc/{pid}/stat").read_text().split()[2]
        if Path(f"/proc/{pid}/stat").exists()
        else "X"
    )
    return status != "Z"
