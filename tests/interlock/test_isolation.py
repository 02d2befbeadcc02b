"""One isolation path for every transport: a message that crashes or hangs the interlock
over HTTP is quarantined as one over MQTT is, and cannot wedge the watchdog's restarts."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request

import pytest

from cryoderm.interlock.journal import Journal, entries_of
from cryoderm.interlock.model import Reading

from .process import read_ready, start_interlock, start_session, stop_process, wait_for

pytestmark = pytest.mark.slow

# Stands in for an unknown parser bug, loaded into the interlock's process from PYTHONPATH:
# a message holding CRASH-ME kills the process (as a fault in C code would), one holding
# HANG-ME blocks the thread handling it.
POISONED_DECODE = """\
import os
import signal
import time
import cryoderm.interlock.wire as wire

_decode = wire.decode


def decode(payload, limits):
    text = payload if isinstance(payload, str) else bytes(payload).decode("latin-1")
    if "CRASH-ME" in text:
        os.kill(os.getpid(), signal.SIGKILL)
    if "HANG-ME" in text:
        time.sleep(3600)
    return _decode(payload, limits)


wire.decode = decode
"""


def _post(url: str, body: bytes, token: str, timeout_s: float = 5.0) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def poisoned_env(tmp_path) -> dict[str, str]:
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(POISONED_DECODE)
    return {"PYTHONPATH": os.pathsep.join([str(hook), os.environ.get("PYTHONPATH", "")])}


@pytest.mark.parametrize("poison", ["CRASH-ME", "HANG-ME"])
def test_an_http_message_that_kills_or_hangs_the_interlock_is_quarantined(
    tmp_path, credentials, poison
):
    journal_dir, ready = tmp_path / "journal", tmp_path / "ready.json"
    watchdog = start_interlock(
        journal_dir,
        *("--watchdog", "--source", "http", "--http-port", "0", "--ready-file", str(ready)),
        credentials=credentials,
        env=poisoned_env(tmp_path),
    )
    token = credentials.add("dev-p").token
    try:
        first = read_ready(ready)
        url = f"http://127.0.0.1:{first['port']}/v1/readings"
        start_session(journal_dir, "s-p", "dev-p", modality="cold-air")
        body = json.dumps({"device_id": "dev-p", "seq": 1, poison: 1}).encode()
        with pytest.raises((urllib.error.URLError, OSError)):
            _post(url, body, token, timeout_s=2.0)  # the process dies or hangs on it
        second = read_ready(ready, not_pid=first["pid"], timeout_s=30.0)
        url = f"http://127.0.0.1:{second['port']}/v1/readings"
        # The device sends it again (it was never answered): the new interlock refuses it
        # unread, and stays up.
        status, answer = _post(url, body, token)
        assert status == 400 and "died while handling" in answer["error"]
        time.sleep(0.5)
        assert json.loads(ready.read_text())["pid"] == second["pid"]
        with Journal(journal_dir) as journal:
            entries = journal.read_after(0, 100_000)
            assert [e.kind for e in entries].count("watchdog-restart") == 1
            (quarantined,) = [e for e in entries if e.kind == "message-quarantined"]
            assert quarantined.payload["pid"] == first["pid"]
            assert quarantined.payload["source"] == "http dev-p POST /v1/readings"
            # It still guards: a new session's floor reading stops its device.
            start_session(journal_dir, "s-p2", "dev-p", modality="cold-air")
            reading = Reading("dev-p", 2, 1.0, time.time()).to_json()
            status, answer = _post(url, json.dumps(reading).encode(), token)
            assert status == 200
            assert json.loads(answer["commands"][-1]["signed"])["command"] == "stop"
            wait_for(lambda: entries_of(journal, "s-p2", ["stop"]))
    finally:
        stop_process(watchdog)
