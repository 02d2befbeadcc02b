"""Journal growth under a flood is bounded: a device that sends more than it can (50
messages a second beyond a burst of 100) has its session stopped with a technical alarm,
and the excess is counted, not journalled; readings from devices without a session are
counted, never journalled, however many device ids a flood invents. Other sessions go on."""

from __future__ import annotations

import time

import orjson
import pytest

from cryoderm.interlock.journal import Journal, entries_of
from cryoderm.interlock.model import Reading
from cryoderm.interlock.mqtt import MqttDeviceLink

from .helpers import Recorder
from .process import start_session, stop_process, wait_for
from .test_authentication import Client, start_on_open_broker
from .test_hostile_input import WarmReadings

pytestmark = pytest.mark.slow
PREFIX = "cryoderm/v1"


def test_a_flood_is_counted_not_journalled_and_stops_only_the_flooding_device(
    tmp_path, anonymous_broker, credentials
):
    broker = anonymous_broker
    journal_dir = tmp_path / "journal"
    process = start_on_open_broker(journal_dir, tmp_path / "ready.json", broker, credentials)
    link = MqttDeviceLink(broker.host, broker.port, interlock_key=credentials.public_key())
    flooder = Client(broker)
    feeder = None
    try:
        start_session(journal_dir, "s-calm", "dev-calm", modality="cold-air")
        start_session(journal_dir, "s-flood", "dev-flood", modality="cold-air")
        calm = Recorder("dev-calm")
        link.attach(calm)
        feeder = WarmReadings(link, "dev-calm")
        now = time.time()
        for seq in range(1, 1501):  # as fast as the broker takes them
            body = orjson.dumps(Reading("dev-flood", seq, 30.0, now).to_json())
            flooder.client.publish(f"{PREFIX}/devices/dev-flood/readings", body, qos=0)
        for n in range(1500):  # under ever new device ids, none with a session
            body = orjson.dumps(Reading(f"ghost-{n}", 1, 30.0, now).to_json())
            flooder.client.publish(f"{PREFIX}/devices/ghost-{n}/readings", body, qos=0)
        with Journal(journal_dir) as journal:

            def rejected() -> dict[str, int]:
                totals: dict[str, int] = {}
                for entry in journal.read_after(0, 100_000, kinds=["messages-rejected"]):
                    for reason, count in entry.payload["counts"].items():
                        totals[reason] = totals.get(reason, 0) + count
                return totals

            # QoS 0: the broker may drop some of a flood; most arrive and are counted.
            wait_for(lambda: sum(rejected().values()) >= 1500, timeout_s=30)
            time.sleep(1.5)
            (stop,) = wait_for(lambda: entries_of(journal, "s-flood", ["stop"]))
            flood_readings = entries_of(journal, "s-flood", ["reading"])
            ghosts = [
                e
                for e in journal.read_after(0, 100_000)
                if (e.device_id or "").startswith("ghost-")
            ]
            counts = rejected()
        assert stop.payload["reason"] == "technical-fault"
        assert stop.payload["detail"] == "reading-flood"
        # At most the burst and the rate for the few seconds the flood took, not 1,500.
        assert len(flood_readings) < 100 + 50 * 10
        assert ghosts == []
        assert counts["readings: flood"] > 500 and counts["readings: no-session"] > 500
        # The calm session was never disturbed, and still stops at the floor.
        assert not calm.stopped.is_set()
        feeder.floor()
        assert calm.stopped.wait(10.0)
        assert process.poll() is None
    finally:
        if feeder is not None:
            feeder.halt()
        flooder.close()
        link.close()
        stop_process(process)
