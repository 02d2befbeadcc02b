"""The interlock's progress, for a watchdog that judges it alive by what it does.

A process that exists may still be deaf (a loop blocked on one message). So the interlock
stamps ``DIR/progress``, a small memory-mapped file in its journal directory: its pid, the
last time (``time.monotonic()``, the same clock for every process of the machine) its loop
went round, the last time its transport's network thread did, its state (``running``,
``journal-failed``), and the message its network thread is handling at the moment, if any
(since when, a digest, the topic). Writing it is a few stores into shared memory, no system
call. :func:`read_progress` reads it from any process (the watchdog, the clinic's health
check); :func:`judge` says whether it shows a hung interlock (data/interlock.toml
``[liveness]``).

Quarantine: when an interlock dies or is killed while handling a message (any transport:
every inbound message goes through :meth:`NetworkWatch.handle`), that message is the
suspect (it may hang or crash whoever reads it, and the broker, or a device sending it
again, would give it to the next interlock). The next interlock finds it in the progress
file its predecessor left and records it in the journal (``message-quarantined``), the
quarantine's store; every later interlock refuses that message unread (counted as
``quarantined``). A source (topic, HTTP device and path) whose messages did this twice
within an hour is refused as a whole for an hour after its last: an attacker who found a
message that kills the interlock cannot make every restart die on a variant of it
(``[liveness]`` in data/interlock.toml). A reading in flight at the instant of an unrelated
crash is quarantined too; it was never acknowledged to its device, which still holds it.
"""

from __future__ import annotations

import hashlib
import logging
import mmap
import os
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from cryoderm.interlock.wire import QuarantinedMessage

log = logging.getLogger(__name__)
T = TypeVar("T")

PROGRESS_FILE = "progress"
# Digests kept in the quarantine at most (the newest).
QUARANTINE_MAX = 1000

_MAGIC = b"CRYO"
_LAYOUT = struct.Struct("<4sIqddId16s64s")
_SIZE = 4096
# Offsets of the fields written while running (see _LAYOUT).
_LOOP, _NETWORK, _STATE, _SINCE, _DIGEST, _SOURCE = 16, 24, 32, 36, 44, 60

STATES = ("running", "journal-failed", "stopped")


def message_digest(topic: str, payload: bytes | bytearray) -> bytes:
    """What identifies a message for the quarantine: its topic and its bytes."""
    return hashlib.blake2b(
        topic.encode("utf-8", "replace") + b"\0" + bytes(payload), digest_size=16
    ).digest()


@dataclass(frozen=True)
class Progress:
    """What a progress file says. Times are ``time.monotonic()`` values; 0.0 = never."""

    pid: int
    loop_s: float
    network_s: float
    state: str
    inflight_since_s: float
    inflight_digest: bytes
    inflight_source: str

    def ages_s(self, now_s: float) -> dict[str, float]:
        """How long ago each stamp was made (the network's only if it has one)."""
        ages = {"loop": now_s - self.loop_s}
        if self.network_s:
            ages["network"] = now_s - self.network_s
        return ages


def read_progress(directory: Path) -> Progress | None:
    """The progress file of ``directory``, or None if there is none (yet)."""
    try:
        with open(Path(directory) / PROGRESS_FILE, "rb") as file:
            raw = file.read(_LAYOUT.size)
    except OSError:
        return None
    if len(raw) < _LAYOUT.size:
        return None
    magic, _version, pid, loop_s, network_s, state, since, digest, source = _LAYOUT.unpack(raw)
    if magic != _MAGIC:
        return None
    return Progress(
        pid,
        loop_s,
        network_s,
        STATES[state] if state < len(STATES) else "unknown",
        since,
        digest,
        source.rstrip(b"\0").decode("utf-8", "replace"),
    )


@cache
def liveness_parameters() -> dict[str, float]:
    from cryoderm.interlock.limits import technical_parameters

    table = technical_parameters()["liveness"]
    keys = (
        "hung_after_s",
        "poll_s",
        "startup_grace_s",
        "source_quarantine_s",
        "source_after_kills",
    )
    return {key: float(table[key]) for key in keys}


def judge(progress: Progress | None, pid: int, started_s: float, now_s: float) -> str | None:
    """Why the interlock with ``pid`` (started at ``started_s``) looks hung, or None."""
    limits = liveness_parameters()
    if progress is None or progress.pid != pid or not progress.loop_s:
        waited = now_s - started_s
        if waited > limits["startup_grace_s"]:
            return f"no progress {waited:.1f} s after its start"
        return None
    if progress.state == "journal-failed":
        return None  # alive and failing safe: a restart would not mend the disk
    ages = progress.ages_s(now_s)
    if progress.inflight_since_s:
        # One message handled for that long is a hang wherever it is handled: the network
        # thread (its stamp goes stale too) or an HTTP request's thread (the accept loop
        # keeps stamping while the requests behind that message wait).
        ages["one message"] = now_s - progress.inflight_since_s
    stale = {k: v for k, v in ages.items() if v > limits["hung_after_s"]}
    if not stale:
        return None
    return "no progress for " + ", ".join(f"{v:.1f} s ({k})" for k, v in stale.items())


class ProgressFile:
    """The interlock's side: created (zeroed) by :meth:`Interlock.open` for this process."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        path = self.directory / PROGRESS_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            os.ftruncate(fd, _SIZE)
            self._map = mmap.mmap(fd, _SIZE)
        finally:
            os.close(fd)
        self._map[: _LAYOUT.size] = _LAYOUT.pack(_MAGIC, 1, os.getpid(), 0.0, 0.0, 0, 0.0, b"", b"")

    def loop(self) -> None:
        struct.pack_into("<d", self._map, _LOOP, time.monotonic())

    def network(self) -> None:
        struct.pack_into("<d", self._map, _NETWORK, time.monotonic())

    def state(self, state: str) -> None:
        struct.pack_into("<I", self._map, _STATE, STATES.index(state))

    def begin(self, digest: bytes, source: str) -> None:
        """The network thread starts handling a message."""
        self._map[_DIGEST : _DIGEST + 16] = digest
        encoded = source.encode("utf-8", "replace")[:64]
        self._map[_SOURCE : _SOURCE + 64] = encoded.ljust(64, b"\0")
        struct.pack_into("<d", self._map, _SINCE, time.monotonic())

    def end(self) -> None:
        struct.pack_into("<d", self._map, _SINCE, 0.0)

    def close(self) -> None:
        self._map.close()


def suspect_of(previous: Progress | None) -> dict[str, Any] | None:
    """The message the previous interlock died or hung handling, if it did: what the
    ``message-quarantined`` journal entry records. None if it was handling none."""
    if previous is None or not previous.inflight_since_s:
        return None
    return {
        "digest": previous.inflight_digest.hex(),
        "source": previous.inflight_source,
        "pid": previous.pid,
        "quarantined_wall_time_s": round(time.time(), 3),
    }


@dataclass(frozen=True)
class Quarantine:
    """What no interlock reads again: messages (digests), and sources (a topic, an HTTP
    device and path) whose messages killed or hung an interlock ``source_after_kills`` times
    within ``source_quarantine_s``, each until that long after its last such kill."""

    digests: frozenset[bytes]
    sources: dict[str, float]  # source -> quarantined until (wall time, s)

    @staticmethod
    def of(entries: list[dict[str, Any]], now_wall_s: float) -> Quarantine:
        """From the payloads of the journal's ``message-quarantined`` entries, oldest first
        (the journal is the quarantine's store: transactional, so a kill mid-write cannot
        leave it torn, and kept with the record of what happened)."""
        limits = liveness_parameters()
        window_s, most = limits["source_quarantine_s"], int(limits["source_after_kills"])
        digests: list[bytes] = []
        kills: dict[str, list[float]] = {}
        for entry in entries:
            try:
                digests.append(bytes.fromhex(str(entry["digest"])))
                at = float(entry["quarantined_wall_time_s"])
            except (KeyError, TypeError, ValueError):
                continue
            kills.setdefault(str(entry.get("source", "")), []).append(at)
        sources = {}
        for source, times in kills.items():
            recent = [t for t in times if t > now_wall_s - window_s]
            if source and len(recent) >= most:
                sources[source] = max(recent) + window_s
        return Quarantine(frozenset(digests[-QUARANTINE_MAX:]), sources)


class NetworkWatch:
    """The one way every transport handles an inbound message (MQTT and HTTP alike): stamp
    the network thread's progress, and handle each message alone (:meth:`handle`)."""

    def __init__(self, progress: ProgressFile | None, quarantine: Quarantine | None = None) -> None:
        self.progress = progress
        self.quarantine = quarantine or Quarantine(frozenset(), {})
        # One message at a time, whichever thread handles it (HTTP: one per request): the
        # progress file's mark then names the message being handled, so that the one a
        # process dies or hangs on is the one quarantined. Handling is short (decode, judge,
        # a stop sent); waiting for the journal's fsync is outside it.
        self._one = threading.Lock()

    def stamp(self) -> None:
        if self.progress is not None:
            self.progress.network()

    def handle(
        self,
        source: str,
        payload: bytes | bytearray,
        handler: Callable[[], T],
        reject: Callable[[Exception], object],
    ) -> T | None:
        """Handle one inbound message in isolation: a quarantined one is rejected unread;
        whatever ``handler`` raises (RecursionError included: anything but an exit) rejects that message only (``reject`` is given the error, once) and the
        caller goes on. While it is handled the message is marked in the progress file, so
        that when the process dies or hangs on it the next interlock quarantines it.
        Returns what ``handler`` returned, None when the message was rejected."""
        with self._one:
            try:
                refused = self._begin(source, payload)
                if refused is not None:
                    reject(refused)
                    return None
                return handler()
            except Exception as error:
                try:
                    reject(error)
                except Exception:
                    log.exception("interlock: rejecting a message failed")
                return None
            finally:
                self._end()

    def _begin(self, source: str, payload: bytes | bytearray) -> QuarantinedMessage | None:
        """Mark the start of handling a message; or why it is quarantined (then it must be
        acknowledged and not read)."""
        quarantine = self.quarantine
        if self.progress is None and not quarantine.digests and not quarantine.sources:
            return None
        if quarantine.sources and quarantine.sources.get(source, 0.0) > time.time():
            return QuarantinedMessage(
                "messages from this source killed or hung the interlock repeatedly: "
                "refused unread for a while"
            )
        digest = message_digest(source, payload)
        if digest in quarantine.digests:
            return QuarantinedMessage()
        if self.progress is not None:
            self.progress.begin(digest, source)
        return None

    def _end(self) -> None:
        if self.progress is not None:
            self.progress.end()
