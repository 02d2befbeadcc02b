"""One isolation path for every transport: a message that crashes or hangs the interlock
over HTTP is quarantined as one over MQTT is, and cannot wedge the watchdog's restarts."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.request
import uuid

import pytest

from cryoderm.interlock.journal import Journal, entries_of
from cryoderm.interlock.model import Reading
from cryoderm.interlock.mqtt import MqttDeviceLink

from .helpers import Recorder
from .process import read_ready, start_interlock, start_session, stop_process, wait_for
from .test_hostile_input import _publisher

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


def _mqtt_watchdog(tmp_path, broker, credentials, prefix: str):
    return start_interlock(
        tmp_path / "journal",
        *("--watchdog", "--source", "mqtt", "--broker", broker.address),
        *("--topic-prefix", prefix, "--client-id", f"il-{uuid.uuid4().hex[:6]}"),
        *("--ready-file", str(tmp_path / "ready.json")),
        "--allow-anonymous-broker",  # so that the test may publish the poison
        credentials=credentials,
        env=poisoned_env(tmp_path),
    )


def _restarts(journal_dir) -> int:
    with Journal(journal_dir) as journal:
        return len(journal.read_after(0, 100_000, kinds=["watchdog-restart"]))


def test_the_quarantine_survives_a_kill_while_it_is_written_and_later_restarts(
    tmp_path, anonymous_broker, credentials
):
    """The quarantine lives in the journal (one transaction), not in a file a kill can
    leave torn: a later interlock still refuses the message."""
    prefix = f"test-{uuid.uuid4().hex[:8]}/cryoderm/v1"
    journal_dir, ready = tmp_path / "journal", tmp_path / "ready.json"
    watchdog = _mqtt_watchdog(tmp_path, anonymous_broker, credentials, prefix)
    attacker = _publisher(anonymous_broker)
    try:
        first = read_ready(ready)["pid"]
        poison = b'{"device_id": "dev-t", "CRASH-ME": 1}'
        topic = f"{prefix}/devices/dev-t/readings"
        attacker.publish(topic, poison, qos=1).wait_for_publish(5)
        second = read_ready(ready, not_pid=first)["pid"]
        # The second interlock's record of the quarantine, torn by a kill (as a file written
        # without fsync is after a power cut), then the second interlock killed.
        for torn in journal_dir.glob("quarantine*"):
            torn.write_bytes(torn.read_bytes()[: len(torn.read_bytes()) // 2])
        os.kill(second, signal.SIGKILL)
        third = read_ready(ready, not_pid=second)["pid"]
        attacker.publish(topic, poison, qos=1).wait_for_publish(5)  # the same message again
        time.sleep(2.0)
        assert json.loads(ready.read_text())["pid"] == third
        assert _restarts(journal_dir) == 2  # the poison's and the test's kill
    finally:
        attacker.loop_stop()
        attacker.disconnect()
        stop_process(watchdog)


def test_variants_of_a_killing_message_cannot_keep_the_interlock_restarting(
    tmp_path, anonymous_broker, credentials
):
    """A message that kills the interlock has variants its digest does not match (a byte
    more): after two kills from one source, that source is refused unread."""
    prefix = f"test-{uuid.uuid4().hex[:8]}/cryoderm/v1"
    journal_dir, ready = tmp_path / "journal", tmp_path / "ready.json"
    watchdog = _mqtt_watchdog(tmp_path, anonymous_broker, credentials, prefix)
    attacker = _publisher(anonymous_broker)
    link = MqttDeviceLink(
        anonymous_broker.host,
        anonymous_broker.port,
        prefix=prefix,
        interlock_key=credentials.public_key(),
    )
    try:
        pid = read_ready(ready)["pid"]
        topic = f"{prefix}/devices/dev-v/readings"
        for variant in (1, 2):
            body = b'{"device_id": "dev-v", "CRASH-ME": %d}' % variant
            attacker.publish(topic, body, qos=1).wait_for_publish(5)
            pid = read_ready(ready, not_pid=pid)["pid"]
        for variant in (3, 4, 5):
            body = b'{"device_id": "dev-v", "CRASH-ME": %d}' % variant
            attacker.publish(topic, body, qos=1).wait_for_publish(5)
        time.sleep(2.0)
        assert json.loads(ready.read_text())["pid"] == pid
        assert _restarts(journal_dir) == 2
        # Other devices are guarded as before.
        start_session(journal_dir, "s-ok", "dev-ok", modality="cold-air")
        device = Recorder("dev-ok")
        link.attach(device)
        link.publish_reading(Reading("dev-ok", 1, 1.0, time.time()))
        assert device.stopped.wait(5.0)
    finally:
        attacker.loop_stop()
        attacker.disconnect()
        link.close()
        stop_process(watchdog)
