"""The benchmark's hostile client: a provisioned device gone rogue, and anonymous strangers.

    python -m benchmarks.hostile --broker HOST:PORT --device-id ID --token TOKEN
                                 --victims ID,ID,... [--flood-hz N] [--spoof-hz N]

Until SIGTERM, in one thread, at fixed rates:

- flood: readings on its own topic (it announced a session, so the interlock's flood gate
  meets it), with a malformed message in every ten;
- spoof: warm readings on the victims' topics with seq from 10^9 (the reported attack),
  and forged heartbeats and resumes on the interlock's topics, each with QoS 1 through an
  MQTT 5 connection, so that the broker's PUBACK says whether it took them;
- strangers: an anonymous connection attempt every second.

At the end it prints what it did and what the broker answered, as JSON.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
import uuid
from typing import Any

import orjson
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

PREFIX = "cryoderm/v1"
SPOOF_SEQ_FROM = 10**9


def _client(host: str, port: int, username: str | None, password: str | None) -> Any:
    client = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"hostile-{uuid.uuid4().hex[:8]}",
        protocol=paho.MQTTv5,
    )
    if username is not None:
        client.username_pw_set(username, password)
    return client


def _anonymous_gets_in(host: str, port: int) -> int:
    """1 if the broker accepts a client without credentials, else 0."""
    stranger = _client(host, port, None, None)
    answer: list[Any] = []
    stranger.on_connect = lambda _c, _u, _f, reason, _p: answer.append(reason)
    try:
        stranger.connect(host, port)
        deadline = time.monotonic() + 2.0
        while not answer and time.monotonic() < deadline:
            stranger.loop(0.05)
        stranger.disconnect()
    except OSError:
        return 0
    return int(bool(answer) and not answer[0].is_failure)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--broker", required=True)
    parser.add_argument("--device-id", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--victims", required=True)
    parser.add_argument("--flood-hz", type=float, default=500.0)
    parser.add_argument("--spoof-hz", type=float, default=200.0)
    args = parser.parse_args(argv)
    host, _, port_text = args.broker.partition(":")
    port = int(port_text)
    victims = args.victims.split(",")
    halt = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: halt.set())
    counts = {
        "flood_sent": 0,
        "junk_sent": 0,
        "spoof_sent": 0,
        "spoof_taken_by_broker": 0,
        "spoof_refused_by_broker": 0,
        "forged_sent": 0,
        "forged_taken_by_broker": 0,
        "anonymous_attempts": 0,
        "anonymous_connected": 0,
    }
    verdicts: dict[int, str] = {}
    lock = threading.Lock()

    def on_publish(_c: Any, _u: Any, mid: int, reason: Any, _p: Any) -> None:
        kind = verdicts.pop(mid, None)
        if kind is None:
            return
        with lock:
            if reason.is_failure:
                counts[f"{kind}_refused_by_broker"] = counts.get(f"{kind}_refused_by_broker", 0) + 1
            else:
                counts[f"{kind}_taken_by_broker"] += 1

    rogue = _client(host, port, args.device_id, args.token)
    rogue.on_publish = on_publish
    rogue.max_inflight_messages_set(1000)
    rogue.connect(host, port)
    rogue.loop_start()
    rogue.publish(
        f"{PREFIX}/devices/{args.device_id}/status",
        orjson.dumps(
            {
                "state": "running",
                "session_id": f"{args.device_id}-s1",
                "zone": "cheek",
                "modality": "cold-air",
            }
        ),
        qos=1,
    )

    def publish(topic: str, payload: bytes, kind: str | None) -> None:
        info = rogue.publish(topic, payload, qos=1 if kind else 0)
        if kind:
            verdicts[info.mid] = kind

    started = time.monotonic()
    flood_n = spoof_n = 0
    next_stranger = started
    seq = 0
    while not halt.is_set():
        now = time.monotonic() - started
        while flood_n < now * args.flood_hz:
            flood_n += 1
            if flood_n % 10 == 0:
                publish(f"{PREFIX}/devices/{args.device_id}/readings", b"[" * 50 + b"]" * 50, None)
                counts["junk_sent"] += 1
                continue
            seq += 1
            body = {
                "device_id": args.device_id,
                "seq": seq,
                "skin_temp_c": 30.0,
                "sampled_wall_time_s": time.time(),
            }
            publish(f"{PREFIX}/devices/{args.device_id}/readings", orjson.dumps(body), None)
            counts["flood_sent"] += 1
        while spoof_n < now * args.spoof_hz:
            spoof_n += 1
            victim = victims[spoof_n % len(victims)]
            if spoof_n % 20 == 0:
                topic = (
                    f"{PREFIX}/interlock/heartbeat"
                    if spoof_n % 40 == 0
                    else f"{PREFIX}/devices/{victim}/commands"
                )
                publish(topic, b'{"command": "resume", "wall_time_s": 0}', "forged")
                counts["forged_sent"] += 1
                continue
            body = {
                "device_id": victim,
                "seq": SPOOF_SEQ_FROM + spoof_n,
                "skin_temp_c": 30.0,
                "sampled_wall_time_s": time.time(),
            }
            publish(f"{PREFIX}/devices/{victim}/readings", orjson.dumps(body), "spoof")
            counts["spoof_sent"] += 1
        if time.monotonic() >= next_stranger:
            next_stranger += 1.0
            counts["anonymous_attempts"] += 1
            counts["anonymous_connected"] += _anonymous_gets_in(host, port)
        halt.wait(0.002)
    time.sleep(1.0)  # the last PUBACKs
    rogue.loop_stop()
    rogue.disconnect()
    with lock:
        counts["spoof_unanswered"] = sum(1 for kind in verdicts.values() if kind == "spoof")
        print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
