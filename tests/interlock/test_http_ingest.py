"""The HTTP ingest inside the interlock process: 200 only after the journal has the reading,
the device's commands on the answer, field-named 400s."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from cryoderm.interlock.credentials import TokenCheck
from cryoderm.interlock.http_ingest import HttpTransport
from cryoderm.interlock.journal import Journal, entries_of
from cryoderm.interlock.model import SessionSpec
from cryoderm.interlock.runtime import Interlock
from cryoderm.interlock.signing import Signer

from .helpers import limits

TOKEN: dict[str, str] = {}


@pytest.fixture
def ingest(ram_dir, credentials):
    journal = Journal(ram_dir / "journal")
    TOKEN["dev-h"] = credentials.add("dev-h").token
    transport = HttpTransport(
        "127.0.0.1",
        0,
        signer=Signer(credentials.private_key(), "il-test"),
        tokens=TokenCheck(credentials),
    )
    interlock = Interlock(journal, [transport])
    interlock.start()
    interlock.start_session(SessionSpec("s-h", "dev-h", "cheek", "cold-air", limits()))
    yield f"http://127.0.0.1:{transport.port}", interlock, journal
    interlock.shutdown()
    journal.close()


def call(url, body=None, method="POST"):
    data = (
        None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    )
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN['dev-h']}"}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def reading(seq, temp):
    return {
        "device_id": "dev-h",
        "seq": seq,
        "skin_temp_c": temp,
        "sampled_wall_time_s": time.time(),
    }


def test_a_reading_is_answered_after_the_journal_has_it_with_the_stop_on_the_answer(ingest):
    url, interlock, journal = ingest
    status, answer = call(f"{url}/v1/readings", reading(1, 25.0))
    assert status == 200 and answer["commands"] == []
    (recorded,) = entries_of(journal, "s-h", ["reading"])
    assert answer["acked"] == {"seq": 1, "journal_seq": recorded.seq}
    status, answer = call(f"{url}/v1/readings", reading(2, 1.0))
    (stop,) = answer["commands"]
    assert json.loads(stop["signed"]) == {
        **json.loads(stop["signed"]),
        "kind": "command",
        "command": "stop",
        "device_id": "dev-h",
        "session_id": "s-h",
        "reason": "floor",
    }
    assert interlock.session_status("s-h")["stop_reason"] == "floor"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"device_id": "dev-h", "seq": 1, "skin_temp_c": 20.0}, "sampled_wall_time_s"),
        (
            {"device_id": "dev h", "seq": 1, "skin_temp_c": 20.0, "sampled_wall_time_s": 1.0},
            "device_id",
        ),
        ({"device_id": "dev-h", "seq": -1, "skin_temp_c": 20.0, "sampled_wall_time_s": 1.0}, "seq"),
        (
            {"device_id": "dev-h", "seq": 1, "skin_temp_c": "cold", "sampled_wall_time_s": 1.0},
            "skin_temp_c",
        ),
        (b"{not json", "JSON"),
    ],
)
def test_a_malformed_reading_is_a_400_naming_the_field(ingest, body, field):
    url, _, _ = ingest
    status, answer = call(f"{url}/v1/readings", body)
    assert status == 400 and field in answer["error"]


def test_commands_can_be_polled_and_unknown_paths_are_404(ingest):
    url, interlock, _ = ingest
    interlock.pause("s-h", by_user="alice")
    status, answer = call(f"{url}/v1/devices/dev-h/commands", method="GET")
    assert status == 200 and json.loads(answer["commands"][0]["signed"])["command"] == "pause"
    assert call(f"{url}/v1/elsewhere", {"a": 1})[0] == 404
