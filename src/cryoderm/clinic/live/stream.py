"""The live page's event stream: the session's journal entries as server-sent events.

Each entry of the session's zones becomes an event named by its kind (``reading`` with the
prediction, ``alarm``, ``alarm-ack``, ``alarm-cleared``, ``stop``, ``pause``, ``resume``,
``resume-after-stop``, ``session-started``, ``session-ended``, ``command-rejected``), with
its journal seq as the event id, so a reconnecting browser resumes where it left off
(Last-Event-ID). Every second a ``status`` event says whether the interlock is alive: a page
that hears nothing for 2 s knows its connection is lost. A stream lasts ``STREAM_S`` and
ends with a ``bye`` event; the browser reconnects at once.

Under ASGI (``cryoderm serve``) the stream is asynchronous: an open live page holds no
thread of the server, only a journal read every ``POLL_S`` in a short-lived worker thread.
Under WSGI (Django's test client) the same events come from a plain generator.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator, Sequence

from cryoderm.clinic.live import channel
from cryoderm.interlock import JournalEntry

#: assumption: 30 s per stream keeps the signed-in session alive while a live page is open
#: (each reconnection is a request) and bounds what a forgotten page costs.
STREAM_S = 30.0
#: assumption: readings arrive at 10 Hz; five looks a second keep the page within 0.2 s of
#: the journal.
POLL_S = 0.2
#: assumption: one status event a second lets the page notice a lost connection within 2 s.
STATUS_EVERY_S = 1.0


def frame(entry: JournalEntry) -> str:
    return f"id: {entry.seq}\nevent: {entry.kind}\ndata: {json.dumps(entry.to_json())}\n\n"


def status_frame() -> str:
    health = channel.health()
    body = {"interlock_alive": health.alive, "why": health.why, "server_time_s": time.time()}
    return f"event: status\ndata: {json.dumps(body)}\n\n"


def read(live_ids: Sequence[str], after: int) -> list[JournalEntry]:
    journal = channel.journal()
    entries = [e for live_id in live_ids for e in journal.read_after(after, 2000, live_id)]
    return sorted(entries, key=lambda e: e.seq)


class _Pace:
    """When the next status is due, and when the stream ends."""

    def __init__(self) -> None:
        now = time.monotonic()
        self.deadline = now + STREAM_S
        self.next_status = now

    def status_due(self) -> bool:
        now = time.monotonic()
        if now < self.next_status:
            return False
        self.next_status = now + STATUS_EVERY_S
        return True

    def over(self) -> bool:
        return time.monotonic() >= self.deadline


async def follow(live_ids: Sequence[str], after: int) -> AsyncIterator[str]:
    pace = _Pace()
    yield "retry: 500\n\n"
    while not pace.over():
        for entry in await asyncio.to_thread(read, live_ids, after):
            after = entry.seq
            yield frame(entry)
        if pace.status_due():
            yield await asyncio.to_thread(status_frame)
        await asyncio.sleep(POLL_S)
    yield "event: bye\ndata: {}\n\n"


def follow_sync(live_ids: Sequence[str], after: int) -> Iterator[str]:
    pace = _Pace()
    yield "retry: 500\n\n"
    while not pace.over():
        for entry in read(live_ids, after):
            after = entry.seq
            yield frame(entry)
        if pace.status_due():
            yield status_frame()
        time.sleep(POLL_S)
    yield "event: bye\ndata: {}\n\n"
