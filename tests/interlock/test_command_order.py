"""A device gets the interlock's commands in the order the rules decided them.

The race: the practitioner resumes a zone (RESUME decided in the loop's thread) and at the
same moment a reading at the floor arrives (STOP decided in the transport's thread). The
session's rules say stopped; if the STOP overtakes the RESUME on the way to the device,
the device ends up running cold on skin at its floor while the interlock believes it
stopped (until it repeats the stop, up to 0.5 s later). Two places could reorder them: the
hand-over from the interlock to the transport, and the MQTT transport itself, which sends
a stop decided in its network thread at once but queues what other threads hand it.
"""

from __future__ import annotations

import threading
import time
import uuid

from cryoderm.interlock.journal import Journal
from cryoderm.interlock.model import DeviceCommand, Reading, SessionSpec, SessionState
from cryoderm.interlock.mqtt import MqttDeviceLink, MqttTransport
from cryoderm.interlock.runtime import Interlock
from cryoderm.interlock.signing import Signer
from cryoderm.interlock.transport import InboundReading

from .helpers import Recorder, limits
from .process import wait_for


class SlowTransport:
    """A transport whose sending of a RESUME is held up until released (the thread that
    sends it is descheduled in between), and that remembers what it sent, in order."""

    name = "slow"

    def __init__(self) -> None:
        self.sent: list[DeviceCommand] = []
        self.resume_entered = threading.Event()
        self.release = threading.Event()
        self.deliver = None

    def start(self, deliver, watch=None):
        self.deliver = deliver

    def send_command(self, device_id, command, detail):
        if command is DeviceCommand.RESUME:
            self.resume_entered.set()
            self.release.wait(5.0)
        self.sent.append(command)

    def publish(self, reading: Reading) -> None:
        self.deliver(InboundReading(reading, self))

    def heartbeat(self, wall_time_s):
        pass

    def acknowledge(self, receipts):
        pass

    def dismiss(self, receipt):
        pass

    def offline(self, reason):
        pass

    def online(self):
        pass

    def close(self):
        pass


def _stopped_and_rewarmed(interlock: Interlock, publish, device_id: str) -> int:
    """A running session, stopped by the practitioner, with a current warm reading (so that
    it may resume); the last seq sent."""
    interlock.start_session(SessionSpec("s-1", device_id, "cheek", "cold-air", limits()))
    for seq in range(1, 6):
        publish(Reading(device_id, seq, 30.0, time.time()))
        time.sleep(0.05)
    interlock.stop("s-1", "alice", "client flinched")
    publish(Reading(device_id, 6, 30.0, time.time()))
    return 6


def test_a_stop_decided_while_a_resume_is_on_its_way_reaches_the_device_after_it(ram_dir):
    journal = Journal(ram_dir / "journal")
    transport = SlowTransport()
    interlock = Interlock(journal, [transport])
    interlock.start()
    try:
        seq = _stopped_and_rewarmed(interlock, transport.publish, "dev-1")
        resumer = threading.Thread(
            target=lambda: interlock.resume_after_stop("s-1", "bob", "client ready")
        )
        resumer.start()
        assert transport.resume_entered.wait(5.0)
        floor = threading.Thread(
            target=lambda: transport.publish(Reading("dev-1", seq + 1, 1.0, time.time()))
        )
        floor.start()
        time.sleep(0.2)
        transport.release.set()
        resumer.join(5)
        floor.join(5)
        assert interlock.guard("s-1").state is SessionState.STOPPED
        assert transport.sent[-2:] == [DeviceCommand.RESUME, DeviceCommand.STOP]
    finally:
        transport.release.set()
        interlock.shutdown()
        journal.close()


def test_over_mqtt_a_resume_handed_over_earlier_is_not_overtaken_by_a_stop(
    ram_dir, mqtt_broker, credentials
):
    host, port = mqtt_broker
    prefix = f"test-{uuid.uuid4().hex[:10]}/cryoderm/v1"
    journal = Journal(ram_dir / "journal")
    transport = MqttTransport(
        host,
        port,
        signer=Signer(credentials.private_key(), "il-order"),
        prefix=prefix,
        client_id=f"il-{uuid.uuid4().hex[:10]}",
        session_expiry_s=5,
    )
    interlock = Interlock(journal, [transport])
    interlock.start()
    link = MqttDeviceLink(host, port, prefix=prefix, interlock_key=credentials.public_key())
    device = Recorder("dev-1")
    link.attach(device)
    # The network thread is busy with another message for 0.3 s (a reading it judges):
    # meanwhile the RESUME is handed over to it and the floor reading arrives.
    gate = threading.Event()
    deliver = transport._deliver

    def held(message):
        if isinstance(message, InboundReading) and message.reading.device_id == "dev-gate":
            gate.set()
            time.sleep(0.3)
        deliver(message)

    transport._deliver = held
    try:
        seq = _stopped_and_rewarmed(interlock, link.publish_reading, "dev-1")
        wait_for(lambda: len(device.acked) == seq)
        link.publish_reading(Reading("dev-gate", 1, 30.0, time.time()))
        assert gate.wait(5.0)
        interlock.resume_after_stop("s-1", "bob", "client ready")
        link.publish_reading(Reading("dev-1", seq + 1, 1.0, time.time()))
        wait_for(lambda: [c for c, _ in device.commands].count(DeviceCommand.STOP) >= 2)
        time.sleep(0.3)
        assert interlock.guard("s-1").state is SessionState.STOPPED
        commands = [c for c, _ in device.commands]
        assert commands[-2:] == [DeviceCommand.RESUME, DeviceCommand.STOP]
    finally:
        interlock.shutdown()
        link.clear_retained()
        link.close()
        journal.close()
