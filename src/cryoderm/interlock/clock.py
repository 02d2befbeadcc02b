"""Clocks for the interlock: the real one, and a controlled one for tests and simulation.

Every timer of the interlock (exposure, no valid reading, heartbeat) reads the injected
:class:`Clock`; nothing in the rules calls :func:`time.monotonic` directly, so a test can
run a ten-minute session in milliseconds and land a fault on an exact instant.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """A source of time in seconds. ``now_s`` is monotonic; ``wall_time_s`` is Unix time."""

    def now_s(self) -> float: ...

    def wall_time_s(self) -> float: ...


class SystemClock:
    """The machine's monotonic clock, and its wall clock for records."""

    def now_s(self) -> float:
        return time.monotonic()

    def wall_time_s(self) -> float:
        return time.time()


class ManualClock:
    """A clock that moves only when told to (:meth:`advance`). Thread-safe.

    ``wall_origin_s`` is the Unix time that ``now_s() == 0`` corresponds to.
    """

    def __init__(self, start_s: float = 0.0, wall_origin_s: float = 1_800_000_000.0) -> None:
        self._now_s = start_s
        self._wall_origin_s = wall_origin_s
        self._lock = threading.Lock()

    def now_s(self) -> float:
        with self._lock:
            return self._now_s

    def wall_time_s(self) -> float:
        with self._lock:
            return self._wall_origin_s + self._now_s

    def advance(self, duration_s: float) -> float:
        """Move time forward by ``duration_s`` (>= 0) and return the new time."""
        if duration_s < 0:
            raise ValueError(f"duration_s = {duration_s}: a clock only moves forward")
        with self._lock:
            self._now_s += duration_s
            return self._now_s

    def set(self, now_s: float) -> None:
        """Move time forward to ``now_s`` (never backwards)."""
        with self._lock:
            if now_s < self._now_s:
                raise ValueError(f"now_s = {now_s}: earlier than the clock's {self._now_s}")
            self._now_s = now_s
