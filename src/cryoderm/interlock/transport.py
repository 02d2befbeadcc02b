"""What the interlock needs from a transport (embedded, MQTT, HTTP), and what it gets from one.

A transport delivers :class:`Inbound` messages to the interlock (readings and device status)
and carries the interlock's commands and heartbeats to devices. It acknowledges a reading
only when the interlock calls :meth:`Transport.acknowledge`, which the interlock does after
the journal has made the reading durable.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from cryoderm.interlock.liveness import NetworkWatch
from cryoderm.interlock.model import DeviceCommand, Reading


@dataclass(frozen=True)
class InboundReading:
    """A reading as received. received_perf_s: time.perf_counter() at receipt (latency).
    token: the transport's handle for acknowledging it (opaque to the interlock)."""

    reading: Reading
    transport: Transport
    token: Any = None
    received_perf_s: float = field(default_factory=time.perf_counter)


@dataclass(frozen=True)
class InboundStatus:
    """A device's status message, e.g. {"state": "running", "zone": "cheek", ...}."""

    device_id: str
    status: dict[str, Any]
    transport: Transport


@dataclass(frozen=True)
class InboundRejected:
    """A message the transport could not read or would not accept (already acknowledged to
    its sender): the interlock counts it and logs it, and never handles it.

    source: where it came from (``readings``, ``status``, an HTTP path); device_id: the
    device its address (topic, token) names, when it names a valid one; reason: a short
    category (``oversized``, ``too-nested``, ``not-json``, ``invalid-reading``, ...);
    detail: the error, already shortened. claimed_device_id: for ``wrong-client``, the
    device the message claimed to come from (the interlock stops both devices)."""

    transport: Transport
    source: str
    device_id: str | None
    reason: str
    detail: str
    claimed_device_id: str | None = None


Inbound = InboundReading | InboundStatus | InboundRejected
Deliver = Callable[[Inbound], None]


class Transport(Protocol):
    """A way to reach devices. ``start`` wires inbound messages to ``deliver``; ``watch``
    (optional) is where a transport with its own network thread stamps its progress and
    marks the message it is handling (:class:`~.liveness.NetworkWatch`)."""

    name: str

    def start(self, deliver: Deliver, watch: NetworkWatch | None = None) -> None: ...

    def send_command(
        self, device_id: str, command: DeviceCommand, detail: dict[str, Any]
    ) -> None: ...

    def heartbeat(self, wall_time_s: float) -> None: ...

    def acknowledge(self, receipts: Sequence[tuple[InboundReading, int]]) -> None:
        """The readings are durable in the journal under the given journal seqs."""
        ...

    def dismiss(self, receipt: InboundReading) -> None:
        """The reading will not be journalled (refused: no session, a flood; or a fault):
        release it (MQTT: PUBACK, so the broker does not deliver it again) without telling
        the device it was kept."""
        ...

    def offline(self, reason: str) -> None:
        """The interlock no longer guards (its journal failed): say so to every device
        that can be told at once (MQTT: the signed, retained ``offline`` status)."""
        ...

    def online(self) -> None:
        """The interlock guards again (its journal can be written again): undo
        :meth:`offline` (MQTT: the signed, retained ``online`` status)."""
        ...

    def close(self) -> None: ...
