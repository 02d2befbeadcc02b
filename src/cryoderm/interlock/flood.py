"""How much each device may send: a token bucket per device.

A device (or someone speaking for it) that sends more than ``[flood] max_rate_hz`` messages
a second, beyond a burst of ``burst_messages``, is flooding: the excess is not judged and
not journalled, only counted (:mod:`.rejections`), and its session stops with a technical
alarm. So the journal of one device grows by at most that rate, whatever it sends.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import cache

# Devices remembered at most: a flood under ever new ids must not grow the table (a device
# forgotten starts again with a full bucket; its messages have no session and are not kept).
_DEVICES_MAX = 10_000


@cache
def flood_parameters() -> tuple[float, float]:
    from cryoderm.interlock.limits import technical_parameters

    table = technical_parameters()["flood"]
    return float(table["max_rate_hz"]), float(table["burst_messages"])


@cache
def unguarded_stops_per_s() -> float:
    from cryoderm.interlock.limits import technical_parameters

    return float(technical_parameters()["flood"]["unguarded_stops_per_s"])


class FloodGate:
    """Per-device token buckets on a monotonic clock (seconds). Not thread-safe: each
    transport's network thread has its own, or the caller holds a lock."""

    def __init__(self, rate_hz: float | None = None, burst: float | None = None) -> None:
        default_rate, default_burst = flood_parameters()
        self.rate_hz = default_rate if rate_hz is None else rate_hz
        self.burst = default_burst if burst is None else burst
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def admit(self, device_id: str, now_s: float) -> bool:
        """Take one message from the device's bucket; False if it is empty (a flood: no
        exception is built, since a flood is many)."""
        tokens, since_s = self._buckets.pop(device_id, (self.burst, now_s))
        tokens = min(self.burst, tokens + (now_s - since_s) * self.rate_hz)
        if tokens < 1.0:
            self._buckets[device_id] = (tokens, now_s)
            return False
        self._buckets[device_id] = (tokens - 1.0, now_s)
        if len(self._buckets) > _DEVICES_MAX:
            self._buckets.popitem(last=False)
        return True
