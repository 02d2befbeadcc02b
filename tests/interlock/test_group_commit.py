"""Group commit in the running interlock: readings share journal commits, and still no
reading is acknowledged before the commit that contains it; stops never wait for a commit."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

from cryoderm.interlock.embedded import EmbeddedTransport
from cryoderm.interlock.journal import Journal
from cryoderm.interlock.model import DeviceCommand, Reading, SessionSpec
from cryoderm.interlock.runtime import Interlock
from cryoderm.interlock.transport import InboundReading

from .helpers import limits


class CountingTransport(EmbeddedTransport):
    """The embedded transport, counting how many acknowledgement rounds the interlock makes."""

    def __init__(self) -> None:
        super().__init__()
        self.ack_rounds = 0

    def acknowledge(self, receipts: Sequence[tuple[InboundReading, int]]) -> None:
        self.ack_rounds += 1
        super().acknowledge(receipts)


class CheckingDevice:
    """A device that, on every acknowledgement, reads the journal through its own connection
    (which sees committed transactions only) and notes any reading acknowledged before it was
    committed."""

    def __init__(self, device_id: str, journal_dir: Path) -> None:
        self.device_id = device_id
        self.reader = Journal(journal_dir)
        self.acked: dict[int, int] = {}
        self.uncommitted_acks: list[int] = []
        self.commands: list[DeviceCommand] = []
        self.lock = threading.Lock()

    def on_command(self, command, detail):
        self.commands.append(command)

    def on_heartbeat(self, wall_time_s):
        return

    def on_ack(self, device_seq, journal_seq):
        committed = self.reader.reading_seqs(self.device_id)
        with self.lock:
            self.acked[device_seq] = journal_seq
            if device_seq not in committed:
                self.uncommitted_acks.append(device_seq)


def wait_for(predicate, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def running_interlock(journal_dir: Path, interval_s: float):
    journal = Journal(journal_dir)
    transport = CountingTransport()
    interlock = Interlock(journal, [transport], min_commit_interval_s=interval_s)
    interlock.start()
    return journal, transport, interlock


def test_readings_from_many_devices_share_commits_and_none_is_acknowledged_before_its_commit(
    ram_dir,
):
    journal, transport, interlock = running_interlock(ram_dir, interval_s=0.02)
    devices = [CheckingDevice(f"dev-{i}", ram_dir) for i in range(4)]
    try:
        for device in devices:
            transport.attach(device)
            interlock.start_session(
                SessionSpec(
                    f"s-{device.device_id}", device.device_id, "cheek", "ln2-vapour", limits()
                )
            )

        def send(device: CheckingDevice) -> None:
            for seq in range(1, 51):
                transport.publish_reading(Reading(device.device_id, seq, 30.0, time.time()))
                time.sleep(0.002)

        senders = [threading.Thread(target=send, args=(d,)) for d in devices]
        started = time.monotonic()
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        assert wait_for(lambda: all(len(d.acked) == 50 for d in devices))
        elapsed_s = time.monotonic() - started
        assert all(d.uncommitted_acks == [] for d in devices)
        for device in devices:
            assert device.reader.reading_seqs(device.device_id) == set(range(1, 51))
        # One acknowledgement round per commit, and a commit at most every 20 ms.
        assert transport.ack_rounds <= elapsed_s / 0.02 + 1
        assert transport.ack_rounds < 200
    finally:
        interlock.shutdown()
        for device in devices:
            device.reader.close()
        journal.close()


def test_a_floor_stop_leaves_at_once_while_its_acknowledgement_waits_for_the_next_commit(ram_dir):
    journal, transport, interlock = running_interlock(ram_dir, interval_s=1.0)
    device = CheckingDevice("dev-f", ram_dir)
    try:
        transport.attach(device)
        interlock.start_session(SessionSpec("s-f", "dev-f", "cheek", "ln2-vapour", limits()))
        transport.publish_reading(Reading("dev-f", 1, 30.0, time.time()))
        assert wait_for(lambda: 1 in device.acked)  # the first commit: the interval starts
        transport.publish_reading(Reading("dev-f", 2, 1.0, time.time()))
        # The stop was sent in the reading's own path, before publish_reading returned ...
        assert device.commands == [DeviceCommand.STOP]
        # ... while the reading itself is acknowledged only after the next commit.
        assert 2 not in device.acked
        assert wait_for(lambda: 2 in device.acked)
        assert device.uncommitted_acks == []
    finally:
        interlock.shutdown()
        device.reader.close()
        journal.close()


def test_journal_payloads_keep_numbers_numbers_and_nan_readable(ram_dir):
    import numpy as np

    from cryoderm.interlock.model import Event

    with Journal(ram_dir) as journal:
        journal.append(
            [Event("note", None, None, None, {"t": np.float64(1.5), "x": float("nan"), 3: [2]})],
            wall_time_s=0.0,
        )
        (entry,) = journal.read_after(0)
    assert entry.payload == {"t": 1.5, "x": "nan", "3": [2]}
