"""Counting the messages the interlock rejects, so that junk costs a counter, not a record.

A flood of unreadable or unacceptable messages must not grow the journal or the log without
bound. :class:`Rejections` counts them by reason and by device, logs the first few of each
report interval, and :meth:`Rejections.report` turns an interval's counts into one
``messages-rejected`` journal entry.
"""

from __future__ import annotations

import logging
from collections import Counter

from cryoderm.interlock.model import Event
from cryoderm.interlock.transport import InboundRejected

log = logging.getLogger(__name__)

# Distinct devices named in one report at most: a flood under ever new device ids must not
# grow the counter (the rest are counted under "other").
_DEVICES_PER_REPORT = 100


class Rejections:
    """report_every_s: the interval of the journal entries; log_per_report: log lines per
    interval before the rest are only counted."""

    def __init__(self, report_every_s: float, log_per_report: int) -> None:
        self.report_every_s = report_every_s
        self.log_per_report = log_per_report
        self.total = 0
        self._reasons: Counter[str] = Counter()
        self._devices: Counter[str] = Counter()
        self._logged = 0
        self._since_s: float | None = None

    def add(self, message: InboundRejected, now_s: float) -> None:
        self.total += 1
        if self._since_s is None:
            self._since_s = now_s
        self._reasons[f"{message.source}: {message.reason}"] += 1
        device = message.device_id or "unknown"
        if device in self._devices or len(self._devices) < _DEVICES_PER_REPORT:
            self._devices[device] += 1
        else:
            self._devices["other"] += 1
        if self._logged < self.log_per_report:
            self._logged += 1
            log.warning(
                "rejected a message (%s, device %s, %s): %s",
                message.source,
                device,
                message.reason,
                message.detail,
            )

    def report(self, now_s: float) -> Event | None:
        """The interval's ``messages-rejected`` entry, if one is due and anything was
        rejected; the counts start again."""
        if self._since_s is None or now_s - self._since_s < self.report_every_s:
            return None
        count = sum(self._reasons.values())
        unlogged = count - self._logged
        if unlogged > 0:
            log.warning("rejected %d more messages: %s", unlogged, dict(self._reasons))
        event = Event(
            "messages-rejected",
            None,
            None,
            None,
            {
                "counts": dict(self._reasons),
                "devices": dict(self._devices),
                "interval_s": round(now_s - self._since_s, 3),
            },
        )
        self._reasons.clear()
        self._devices.clear()
        self._logged = 0
        self._since_s = None
        return event
