"""The embedded transport: devices in the interlock's own process, no broker (the default).

A device attaches a :class:`DeviceEndpoint` and publishes through :meth:`EmbeddedTransport.publish_reading`;
commands, heartbeats and acknowledgements come back as direct calls. ``make run`` and
``cryoderm session-sim`` use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from cryoderm.interlock.liveness import NetworkWatch
from cryoderm.interlock.model import DeviceCommand, Reading
from cryoderm.interlock.transport import Deliver, InboundReading, InboundStatus


class DeviceEndpoint(Protocol):
    """What the interlock's messages reach on the device side."""

    device_id: str

    def on_command(self, command: DeviceCommand, detail: dict[str, Any]) -> None: ...

    def on_heartbeat(self, wall_time_s: float) -> None: ...

    def on_ack(self, device_seq: int, journal_seq: int) -> None: ...


class EmbeddedTransport:
    name = "embedded"

    def __init__(self) -> None:
        self._deliver: Deliver | None = None
        self._devices: dict[str, DeviceEndpoint] = {}

    def attach(self, device: DeviceEndpoint) -> None:
        self._devices[device.device_id] = device

    def publish_reading(self, reading: Reading) -> None:
        if self._deliver is not None:
            self._deliver(InboundReading(reading, self))

    def publish_status(self, device_id: str, status: dict[str, Any]) -> None:
        if self._deliver is not None:
            self._deliver(InboundStatus(device_id, status, self))

    # -- Transport ------------------------------------------------------------------------
    def start(self, deliver: Deliver, watch: NetworkWatch | None = None) -> None:
        """No network thread of its own: nothing to stamp (devices call in directly)."""
        self._deliver = deliver

    def send_command(self, device_id: str, command: DeviceCommand, detail: dict[str, Any]) -> None:
        device = self._devices.get(device_id)
        if device is not None:
            device.on_command(command, detail)

    def heartbeat(self, wall_time_s: float) -> None:
        for device in self._devices.values():
            device.on_heartbeat(wall_time_s)

    def acknowledge(self, receipts: Sequence[tuple[InboundReading, int]]) -> None:
        for receipt, journal_seq in receipts:
            device = self._devices.get(receipt.reading.device_id)
            if device is not None:
                device.on_ack(receipt.reading.seq, journal_seq)

    def dismiss(self, receipt: InboundReading) -> None:
        """Nothing holds an embedded reading: the device is simply not told it was kept."""

    def offline(self, reason: str) -> None:
        """Embedded devices stop on the stop commands and the missing heartbeat."""

    def online(self) -> None:
        """Guarding again (the journal can be written): heartbeats resume."""

    def close(self) -> None:
        self._deliver = None
