"""The live interlock: one loop that owns every session guard, its transports and journal.

Order of work for each batch of inbound messages (the fail-safe order, docs/interlock.md):
1. judge every reading against its session's rules (:class:`~.guard.SessionGuard`);
2. send any stop command to the device at once, before anything is written;
3. record the batch in the journal, durable on return (one fsync per group of batches);
4. only then acknowledge the readings to their transports.
When running threaded (:meth:`Interlock.start`), a reading is judged in the thread of the
transport that received it, and 3 and 4 happen in a writer thread, so neither a thread
hand-off nor a slow fsync delays a stop. Operator actions are recorded when they are taken
(durable when the call returns). Commands decided under the interlock's lock are sent once
it is released (a transport may hold its own locks while it delivers a reading).

Timers (exposure, plan end, no valid reading) are evaluated every ``tick_s`` on the injected
clock; heartbeats go to every transport every ``heartbeat_s``. Operator actions (stop, pause,
resume, acknowledge, silence) may come from any thread (:meth:`Interlock.stop` etc.) or from
another process through the journal's command table (:mod:`cryoderm.interlock.control`).

The same code runs threaded in real time (:meth:`Interlock.start`) or pumped by hand with a
:class:`~.clock.ManualClock` (:meth:`Interlock.pump`), as the tests and session-sim do.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cryoderm.interlock.clock import Clock, SystemClock
from cryoderm.interlock.errors import (
    ActionRefused,
    InterlockError,
    JournalFailed,
    UnknownSession,
)
from cryoderm.interlock.flood import FloodGate, unguarded_stops_per_s
from cryoderm.interlock.guard import Outcome, SessionGuard
from cryoderm.interlock.journal import Journal, JournalEntry
from cryoderm.interlock.limits import technical_parameters
from cryoderm.interlock.liveness import (
    NetworkWatch,
    ProgressFile,
    Quarantine,
    read_progress,
    suspect_of,
)
from cryoderm.interlock.lock import DirectoryLock
from cryoderm.interlock.model import DeviceCommand, Event, SessionSpec, SessionState, StopReason
from cryoderm.interlock.rejections import Rejections
from cryoderm.interlock.transport import (
    Inbound,
    InboundReading,
    InboundRejected,
    InboundStatus,
    Transport,
)
from cryoderm.interlock.wire import clip

log = logging.getLogger(__name__)

# The writer thread starts a commit at most this often: readings that arrive meanwhile join
# the next group, so that at 1,000 readings/s an fsync, a transaction and the wake-ups of
# the acknowledgement path are shared by about five readings instead of one to three. Only
# acknowledgements wait for it (by at most this long); judging and stops never do. Chosen
# by measurement (docs/interlock.md): 10 ms saved more CPU but lengthened the benchmark's
# median reading-to-stop latency from about 5 ms to 8 ms (cause not pinned down).
MIN_COMMIT_INTERVAL_S = 0.005

# A stopped device that keeps sending readings is told "stop" again at most this often, in
# case the first command was lost on the way.
RESEND_STOP_EVERY_S = 0.5
# Devices without a session remembered for the resend interval above, at most.
_UNGUARDED_MAX = 10_000
# Entries decided while the journal cannot be written, kept to record later, at most (a
# stop and its alarm per session; operator actions): assumption, far above what a clinic's
# sessions decide while a disk is freed, and a bounded memory if it never is.
_UNRECORDED_MAX = 10_000


# Stops decided by a timer (IL-3, IL-4, the plan's end), whose lateness is measured from
# their deadline.
_TIMER_STOPS = (StopReason.NO_VALID_READING, StopReason.TIMER, StopReason.PLAN_COMPLETE)


def _cold_off(live: _Live) -> bool:
    """Whether the session has the cold off: stopped, ended, or paused by the operator."""
    return not live.guard.armed or live.guard.state is SessionState.PAUSED


def _resend_every_s(live: _Live) -> float:
    """How often a stopped device that still reports is told ``stop`` again: a transport
    may say (``resend_stop_every_s``; HTTP: at every reading, since a command rides on an
    answer the device may never read, and the interlock cannot tell)."""
    return float(getattr(live.transport, "resend_stop_every_s", RESEND_STOP_EVERY_S))


SessionFactory = Callable[[str, dict[str, Any]], SessionSpec]
"""Builds a session spec for a device that announces a session itself (device_id, status)."""


_Batch = tuple[list[Event], list[InboundReading], list[int]]


@dataclass
class _Live:
    guard: SessionGuard
    transport: Transport | None
    last_stop_sent_s: float = -1e9
    stop_latency_ms: float | None = None


class Interlock:
    """Guards live sessions; see the module docstring.

    journal: where every event goes before readings are acknowledged.
    transports: how devices are reached (at least one).
    clock: the time source of every rule (a ManualClock in tests).
    session_factory: optional; lets a device start a session with a status message
        (``{"state": "running", "session_id", "zone", "modality"}``), as device-sim does.
    min_commit_interval_s: when running threaded, the shortest time between the starts of
        two journal commits (group commit); delays acknowledgements only.
    started_detail: added to the ``interlock-started`` entry (e.g. the process's scheduling).
    """

    def __init__(
        self,
        journal: Journal,
        transports: Sequence[Transport],
        *,
        clock: Clock | None = None,
        tick_s: float = 0.05,
        heartbeat_s: float = 0.25,
        session_factory: SessionFactory | None = None,
        max_batch: int = 500,
        min_commit_interval_s: float = MIN_COMMIT_INTERVAL_S,
        started_detail: dict[str, Any] | None = None,
    ) -> None:
        self.journal = journal
        self.transports = list(transports)
        self.clock: Clock = clock or SystemClock()
        self.tick_s = tick_s
        self.heartbeat_s = heartbeat_s
        self.session_factory = session_factory
        self.max_batch = max_batch
        self.min_commit_interval_s = min_commit_interval_s
        self.started_detail = dict(started_detail or {})
        self._inbox: queue.SimpleQueue[Inbound] = queue.SimpleQueue()
        self._lock = threading.RLock()
        self._sessions: dict[str, _Live] = {}
        # Sessions whose rules are armed (running or paused), the only ones the timers can
        # act on (a resumed zone is put back): the tick must not grow with every session
        # this interlock has ever guarded.
        self._unstopped: dict[str, _Live] = {}
        self._by_device: dict[str, str] = {}
        # Devices of the sessions a previous run left open (closed at start-up): their late
        # readings are kept in those sessions' records until the device's next session.
        self._orphaned: dict[str, str] = {}
        self._unguarded_stop_sent: dict[str, float] = {}
        self._last_tick_s = -1e9
        self._last_heartbeat_s = -1e9
        self._thread: threading.Thread | None = None
        self._halt = threading.Event()
        self._command_poll: Callable[[], None] | None = None
        self._writer: queue.SimpleQueue[_Batch | None] | None = None
        self._writer_thread: threading.Thread | None = None
        self.started = False
        self.journal_failed = False
        # While the journal cannot be written: since when (wall time), why, the last retry,
        # and what was decided meanwhile (stops, alarms...: recorded once it can be written).
        self._failed_since_wall_s = 0.0
        self._failed_why = ""
        self._last_retry_s = -1e9
        self._unrecorded: list[Event] = []
        self._retry_every_s = float(technical_parameters()["journal"]["retry_after_failure_s"])
        self._inline = False
        self._journal_lock = DirectoryLock(journal.directory)
        self.progress: ProgressFile | None = None
        self._outbox: list[tuple[Transport, str, DeviceCommand, dict[str, Any]]] = []
        # Held from taking the outbox to the end of sending it: commands reach the transports
        # in the order the rules decided them, whichever thread decided and sends them (a
        # RESUME taken by one thread must not be overtaken by a STOP another decided after).
        self._send_lock = threading.Lock()
        # Readings that will not be journalled, to be released by their transport.
        self._dismissed: list[InboundReading] = []
        self._gate = FloodGate()
        rate = unguarded_stops_per_s()
        self._unguarded_gate = FloodGate(rate, rate)
        messages = technical_parameters()["messages"]
        self.rejections = Rejections(
            float(messages["report_every_s"]), int(messages["log_per_report"])
        )

    # -- lifecycle ------------------------------------------------------------------------
    def open(self) -> None:
        """Take the journal's single-writer lock (:mod:`.lock`; raises JournalInUse when
        another interlock holds it), start the transports, and close any session a
        previous run left open: only the lock's holder ever does that."""
        if self.started:
            return
        self._journal_lock.acquire()
        self.started = True
        directory = self.journal.directory
        suspect = suspect_of(read_progress(directory))
        self.progress = ProgressFile(directory)
        events = [
            Event(
                "interlock-started",
                None,
                None,
                None,
                {"transports": [t.name for t in self.transports], **self.started_detail},
            )
        ]
        if suspect is not None:
            log.error(
                "the previous interlock (pid %s) died handling a message on %s: quarantined",
                suspect["pid"],
                suspect["source"],
            )
            events.append(Event("message-quarantined", None, None, None, suspect))
        self._record(events)
        quarantine = Quarantine.of(
            [e.payload for e in self._read_all(("message-quarantined",))],
            self.clock.wall_time_s(),
        )
        for source, until_s in quarantine.sources.items():
            log.error(
                "messages on %s killed or hung the interlock repeatedly: all refused unread "
                "until %s (wall time)",
                source,
                time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(until_s)),
            )
        # Before the transports start: what they deliver at once (readings the broker kept
        # for a dead interlock) must find the orphaned sessions already closed.
        orphans = self._close_orphans()
        watch = NetworkWatch(self.progress, quarantine)
        for transport in self.transports:
            transport.start(self.deliver, watch)
        self._stop_orphans(orphans)

    def start(self) -> None:
        """Run the loop in a daemon thread (real time), with a writer thread for the journal."""
        self.open()
        self._writer = queue.SimpleQueue()
        self._writer_thread = threading.Thread(
            target=self._write_batches, name="interlock-journal", daemon=True
        )
        self._writer_thread.start()
        self._inline = True
        self._thread = threading.Thread(target=self.run_until_halted, name="interlock", daemon=True)
        self._thread.start()

    def run_until_halted(self) -> None:
        while not self._halt.is_set():
            if self.progress is not None:
                self.progress.loop()
            try:
                self.pump(wait_s=self.tick_s)
            except Exception:
                # Never let the loop die: its timers are what stop a silent device.
                log.exception("interlock loop fault; continuing")

    def shutdown(self) -> None:
        """Stop the loop and the transports (sessions are not stopped: devices fail safe on
        missing heartbeats; a restarted interlock closes them)."""
        self._halt.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        if self._writer is not None and self._writer_thread is not None:
            self._writer.put(None)
            self._writer_thread.join(timeout=10.0)
        for transport in self.transports:
            transport.close()
        if self.progress is not None:
            self.progress.state("stopped")
            self.progress.close()
        self._journal_lock.release()

    def set_command_poll(self, poll: Callable[[], None]) -> None:
        """A function called every tick to fetch operator commands from elsewhere."""
        self._command_poll = poll

    # -- inbound --------------------------------------------------------------------------
    def deliver(self, message: Inbound) -> None:
        """Called by transports, from any thread. When running threaded, a message is handled
        at once in the caller's thread (the transport's): a stop goes out without waiting for
        another thread to be scheduled, and a device's status and readings keep their order.
        When pumped by hand, messages wait in the inbox for :meth:`pump`."""
        if not self._inline:
            self._inbox.put(message)
            return
        events: list[Event] = []
        receipts: list[InboundReading] = []
        index: list[int] = []
        with self._lock:
            self._handle(message, self.clock.now_s(), events, receipts, index)
        self._flush()
        if events:
            self._commit(events, receipts, index)

    def _handle(
        self,
        message: Inbound,
        now_s: float,
        events: list[Event],
        receipts: list[InboundReading],
        index: list[int],
    ) -> None:
        """One inbound message, under the lock. The loop must outlive any fault in handling
        one message: that message's device is stopped and the fault recorded."""
        kept = False
        try:
            if isinstance(message, InboundRejected):
                self.rejections.add(message, now_s)
                if message.reason == "wrong-client":
                    for device_id in {message.device_id, message.claimed_device_id}:
                        self._technical(device_id, "wrong-client", message.detail, now_s, events)
                elif message.device_id is not None and not self._gate.admit(
                    message.device_id, now_s
                ):
                    # The flood limit is per message, readable or not: a device keeping its
                    # session alive with valid readings while it floods its address with
                    # what cannot be read (each costing a decode) is flooding.
                    detail = f"more than {self._gate.rate_hz:g} messages per second"
                    self._technical(
                        message.device_id,
                        "reading-flood",
                        f"device {message.device_id} sends {detail}",
                        now_s,
                        events,
                    )
                return
            device_id = (
                message.reading.device_id
                if isinstance(message, InboundReading)
                else message.device_id
            )
            if not self._gate.admit(device_id, now_s):
                detail = f"more than {self._gate.rate_hz:g} messages per second"
                self._refuse(message, device_id, "flood", detail, now_s)
                self._technical(
                    device_id, "reading-flood", f"device {device_id} sends {detail}", now_s, events
                )
                return
            if isinstance(message, InboundReading):
                at = self._on_reading(message, now_s, events)
                if at is not None:
                    index.append(at)
                    receipts.append(message)
                    kept = True
            else:
                self._on_status(message, now_s, events)
        except Exception as error:
            self._fault(message, error, events)
        finally:
            if isinstance(message, InboundReading) and not kept:
                # Not journalled (refused, or a fault): the transport releases it without
                # an acknowledgement to the device, so that nothing redelivers it for ever.
                self._dismissed.append(message)

    def _refuse(
        self, message: Inbound, device_id: str, reason: str, detail: str, now_s: float
    ) -> None:
        """Count a message that is not handled (journalled as a count, not as itself)."""
        kind = "readings" if isinstance(message, InboundReading) else "status"
        self.rejections.add(
            InboundRejected(message.transport, kind, device_id, reason, detail), now_s
        )

    def pump(self, wait_s: float = 0.0) -> int:
        """Process what is waiting (waiting up to ``wait_s`` for the first message), run the
        timers if a tick is due; the number of inbound messages processed."""
        batch: list[Inbound] = []
        try:
            batch.append(
                self._inbox.get(timeout=wait_s) if wait_s > 0 else self._inbox.get_nowait()
            )
            while len(batch) < self.max_batch:
                batch.append(self._inbox.get_nowait())
        except queue.Empty:
            pass
        events: list[Event] = []
        receipts: list[InboundReading] = []
        event_of_receipt: list[int] = []
        now_s = self.clock.now_s()
        for message in batch:
            with self._lock:
                self._handle(message, now_s, events, receipts, event_of_receipt)
            if self._outbox:
                self._flush()  # a stop leaves before the rest of the batch is judged
        with self._lock:
            due = now_s - self._last_tick_s >= self.tick_s - 1e-9
            if due:
                self._last_tick_s = now_s
                self._tick(now_s, events)
        self._flush()
        if events:
            self._commit(events, receipts, event_of_receipt)
        if due and self.journal_failed:
            self._retry_journal(now_s)
        elif due and self._command_poll is not None:
            # Not while the journal fails: a command's outcome could not be recorded (and
            # every zone is stopped already); the commands wait for the journal.
            self._command_poll()
        if now_s - self._last_heartbeat_s >= self.heartbeat_s - 1e-9 and not self.journal_failed:
            # No heartbeat from an interlock whose journal failed: its devices stop.
            self._last_heartbeat_s = now_s
            wall = self.clock.wall_time_s()
            for transport in self.transports:
                transport.heartbeat(wall)
        return len(batch)

    def _on_reading(self, message: InboundReading, now_s: float, events: list[Event]) -> int | None:
        """Judge a reading; the index of its journal event, or None if it is not journalled
        (a device without a session: counted, and the device told to stop)."""
        reading = message.reading
        age_s = self.clock.wall_time_s() - reading.sampled_wall_time_s
        session_id = self._by_device.get(reading.device_id)
        if session_id is None:
            # A device with no session is not guarded: it must not run.
            self._stop_unguarded(message.transport, reading.device_id, now_s)
            orphan = self._orphaned.get(reading.device_id)
            if orphan is not None:
                # Of a session a previous run guarded and this one closed (redelivered by
                # the broker, or resent by the device): kept in its record, not judged.
                payload = {**reading.to_json(), "valid": False, "invalid_reason": "after-restart"}
                events.append(Event("reading", orphan, reading.device_id, None, payload))
                return len(events) - 1
            # Otherwise counted, not journalled: a flood under ever new device ids must not
            # fill the journal.
            self._refuse(message, reading.device_id, "no-session", "no session", now_s)
            return None
        live = self._sessions[session_id]
        live.transport = message.transport
        # Before the reading moves it: the deadline a late tick may have missed.
        no_reading_deadline_s = live.guard.no_valid_reading_deadline_s()
        outcome = live.guard.on_reading(reading, now_s, age_s)
        if outcome.command is not None:
            self._send(live, outcome, now_s)
            live.stop_latency_ms = (time.perf_counter() - message.received_perf_s) * 1e3
            if outcome.stop_reason in _TIMER_STOPS:
                # A timer's deadline found passed at this reading (the tick was late): the
                # stop is as late as the deadline is old, not as this reading's handling.
                deadline_s = (
                    no_reading_deadline_s
                    if outcome.stop_reason is StopReason.NO_VALID_READING
                    else self._deadline_of(live.guard, outcome)
                )
                live.stop_latency_ms += max(0.0, now_s - deadline_s) * 1e3
            self._annotate_latency(outcome, live.stop_latency_ms)
        elif _cold_off(live) and now_s - live.last_stop_sent_s >= _resend_every_s(live):
            # A stopped or paused device that still reports: told so again, in case the
            # first command never reached it (the cold may still be on).
            self._send_stop_again(live, now_s)
        index = len(events)
        events.extend(outcome.events)
        if not outcome.events:
            # A retransmission: the journal ignores the repeat and gives the seq of the
            # reading as first recorded, with which it is acknowledged again.
            events.append(
                Event(
                    "reading",
                    session_id,
                    reading.device_id,
                    None,
                    {**reading.to_json(), "valid": False, "invalid_reason": "retransmission"},
                )
            )
        return index

    def _fault(self, message: Inbound, error: Exception, events: list[Event]) -> None:
        """A fault of the interlock's own while handling a message: that message's device
        is stopped (its session with a technical alarm) and the fault recorded."""
        log.exception("interlock fault while handling a message; stopping its device")
        device_id = (
            message.reading.device_id if isinstance(message, InboundReading) else message.device_id
        )
        if device_id is None:
            return
        text = f"{type(error).__name__}: {clip(str(error))}"
        self._post(message.transport, device_id, DeviceCommand.STOP, {"reason": "interlock-fault"})
        events.append(
            Event(
                "interlock-fault", self._by_device.get(device_id), device_id, None, {"error": text}
            )
        )
        try:
            self._technical(device_id, "interlock-fault", text, self.clock.now_s(), events)
        except Exception:
            log.exception("interlock: the technical alarm for %s failed", device_id)

    def _technical(
        self, device_id: str | None, condition: str, detail: str, now_s: float, events: list[Event]
    ) -> None:
        """A technical alarm on the device's current session, and its fail-safe stop."""
        session_id = self._by_device.get(device_id) if device_id is not None else None
        if session_id is None:
            return
        live = self._sessions[session_id]
        outcome = live.guard.technical_fault(condition, f"{detail}: cold stopped", now_s)
        self._send(live, outcome, now_s)
        events.extend(outcome.events)

    def _stop_unguarded(self, transport: Transport, device_id: str, now_s: float) -> None:
        last = self._unguarded_stop_sent.get(device_id, -1e9)
        if now_s - last < RESEND_STOP_EVERY_S:
            return
        if not self._unguarded_gate.admit("all", now_s):
            return  # this device is told at one of its next readings
        if len(self._unguarded_stop_sent) >= _UNGUARDED_MAX:
            self._unguarded_stop_sent.clear()
        self._unguarded_stop_sent[device_id] = now_s
        self._post(transport, device_id, DeviceCommand.STOP, {"reason": "no-session"})

    def _on_status(self, message: InboundStatus, now_s: float, events: list[Event]) -> None:
        status = message.status
        factory = self.session_factory if status.get("state") == "running" else None
        if message.device_id not in self._by_device and factory is None:
            self._refuse(message, message.device_id, "no-session", "no session", now_s)
            return
        events.append(
            Event(
                "device-status",
                self._by_device.get(message.device_id),
                message.device_id,
                None,
                dict(status),
            )
        )
        self._check_status(message, now_s, events, announcing=factory is not None)
        if factory is not None:
            current = self._by_device.get(message.device_id)
            if current is not None and self._sessions[current].guard.armed:
                return
            try:
                spec = factory(message.device_id, status)
            except InterlockError as error:
                events.append(
                    Event(
                        "command-rejected",
                        None,
                        message.device_id,
                        None,
                        {"command": "start", "error": str(error)},
                    )
                )
                self._post(
                    message.transport,
                    message.device_id,
                    DeviceCommand.STOP,
                    {"reason": "session-rejected"},
                )
                return
            events.extend(self._begin(spec, now_s, message.transport))

    def _check_status(
        self, message: InboundStatus, now_s: float, events: list[Event], *, announcing: bool
    ) -> None:
        """A device that says it is cooling (running or paused) must be cooling what its
        session guards: another zone (whose limits are not those judged), another modality
        (another floor) or another session is a disagreement on what is guarded, a
        technical alarm and a fail-safe stop. One that says it runs while its session is
        stopped is told to stop again, unless it is announcing its next session (devices
        may, with ``--allow-device-sessions``)."""
        session_id = self._by_device.get(message.device_id)
        status = message.status
        if session_id is None or status.get("state") not in ("running", "paused"):
            return
        live = self._sessions[session_id]
        spec = live.guard.spec
        told = {"session_id": spec.session_id, "zone": spec.zone, "modality": spec.modality}
        contradicted = [
            f"{key} {status[key]!r} (guarded: {value!r})"
            for key, value in told.items()
            if key in status and status[key] != value
        ]
        if contradicted and live.guard.armed:
            detail = f"device {message.device_id} reports " + ", ".join(contradicted)
            self._technical(message.device_id, "status-contradiction", detail, now_s, events)
        elif (
            not live.guard.armed
            and not announcing
            and now_s - live.last_stop_sent_s >= _resend_every_s(live)
        ):
            self._send_stop_again(live, now_s)

    def _tick(self, now_s: float, events: list[Event]) -> None:
        stopped: list[str] = []
        for session_id, live in self._unstopped.items():
            if not live.guard.armed:
                stopped.append(session_id)
                continue
            outcome = live.guard.on_tick(now_s)
            if outcome.command is not None:
                tick_start = time.perf_counter()
                self._send(live, outcome, now_s)
                late_s = max(0.0, now_s - self._deadline_of(live.guard, outcome))
                live.stop_latency_ms = late_s * 1e3 + (time.perf_counter() - tick_start) * 1e3
                self._annotate_latency(outcome, live.stop_latency_ms)
            events.extend(outcome.events)
        for session_id in stopped:
            del self._unstopped[session_id]
        report = self.rejections.report(now_s)
        if report is not None:
            events.append(report)

    @staticmethod
    def _deadline_of(guard: SessionGuard, outcome: Outcome) -> float:
        if outcome.stop_reason is StopReason.NO_VALID_READING:
            return guard.no_valid_reading_deadline_s()
        # Timer and plan end: the moment the exposure reached its limit.
        limit = guard.limits.max_exposure_s
        if outcome.stop_reason is StopReason.PLAN_COMPLETE and guard.spec.planned_duration_s:
            limit = guard.spec.planned_duration_s
        overshoot = guard.exposure_s(guard.stop_at_s or 0.0) - limit
        return (guard.stop_at_s or 0.0) - max(0.0, overshoot)

    @staticmethod
    def _annotate_latency(outcome: Outcome, latency_ms: float) -> None:
        for event in outcome.events:
            if event.kind == "stop":
                event.payload["stop_latency_ms"] = round(latency_ms, 3)

    def _send(self, live: _Live, outcome: Outcome, now_s: float) -> None:
        command = outcome.command
        if command is None:
            return
        detail: dict[str, Any] = {"session_id": live.guard.spec.session_id}
        if outcome.stop_reason is not None:
            detail["reason"] = outcome.stop_reason.value
        if command in (DeviceCommand.STOP, DeviceCommand.PAUSE):
            live.last_stop_sent_s = now_s
        if live.transport is None:
            for transport in self.transports:
                self._post(transport, live.guard.spec.device_id, command, detail)
        else:
            self._post(live.transport, live.guard.spec.device_id, command, detail)

    def _post(
        self, transport: Transport, device_id: str, command: DeviceCommand, detail: dict[str, Any]
    ) -> None:
        """Queue a command decided under the lock; :meth:`_flush` sends it once the lock is
        released. A transport's thread may hold its own locks while it calls :meth:`deliver`
        (paho does, during a callback), so sending under our lock could deadlock."""
        self._outbox.append((transport, device_id, command, detail))

    def _flush(self) -> None:
        with self._send_lock:
            with self._lock:
                pending, self._outbox = self._outbox, []
                dismissed, self._dismissed = self._dismissed, []
            for receipt in dismissed:
                try:
                    receipt.transport.dismiss(receipt)
                except Exception:
                    log.exception("interlock: releasing a message that was not kept failed")
            for transport, device_id, command, detail in pending:
                try:
                    transport.send_command(device_id, command, detail)
                except Exception:
                    # One command that cannot go out must not keep the others from going.
                    log.exception("interlock: sending %s to %s failed", command.value, device_id)

    def _journal_broken(self, error: Exception) -> None:
        """The journal cannot record (a full disk, an I/O error): nothing the interlock
        sees can be kept, so it guards nothing more. Every armed session stops with a
        technical alarm, every device is told to stop and (MQTT) that the interlock is
        offline, heartbeats end, and nothing more is acknowledged, until the journal can be
        written again (:meth:`_retry_journal`)."""
        with self._lock:
            if self.journal_failed:
                return
            self.journal_failed = True
        if self.progress is not None:
            self.progress.state("journal-failed")
        why = f"the journal cannot be written ({type(error).__name__}: {clip(str(error))})"
        self._failed_since_wall_s, self._failed_why = self.clock.wall_time_s(), why
        log.critical(
            "%s: every device was told to stop; the interlock retries every %g s and guards "
            "again once it can write (free the disk)",
            why,
            self._retry_every_s,
        )
        now_s = self.clock.now_s()
        with self._lock:
            for live in list(self._unstopped.values()):
                outcome = live.guard.technical_fault("journal-failure", why, now_s)
                self._send(live, outcome, now_s)
                self._keep_unrecorded(outcome.events)
            devices = {live.guard.spec.device_id for live in self._sessions.values()}
        self._flush()
        for device_id in devices:
            for transport in self.transports:
                transport.send_command(device_id, DeviceCommand.STOP, {"reason": "journal-failure"})
        for transport in self.transports:
            transport.offline("journal-failure")

    def _keep_unrecorded(self, events: Sequence[Event]) -> None:
        """Keep what was decided while the journal fails (stops, alarms, operator actions),
        to record once it can be written; readings are not kept (they were not acknowledged:
        their devices still hold them), nor more than a bound."""
        kept = [event for event in events if event.kind != "reading"]
        room = _UNRECORDED_MAX - len(self._unrecorded)
        self._unrecorded += kept[: max(0, room)]

    def _retry_journal(self, now_s: float) -> None:
        """The loop's retry while the journal fails: one small write; once it succeeds, the
        interlock records the failure and what it decided meanwhile, says ``online`` again
        and guards again. It stays stopped-safe: every zone the failure stopped stays
        stopped (its ``journal-failure`` alarm latched) until the practitioner acknowledges
        it and resumes the zone; devices that stopped themselves stay stopped."""
        if now_s - self._last_retry_s < self._retry_every_s:
            return
        self._last_retry_s = now_s
        with self._lock:
            unrecorded = list(self._unrecorded)
        recovered = Event(
            "journal-recovered",
            None,
            None,
            None,
            {
                "failed_since_wall_time_s": round(self._failed_since_wall_s, 3),
                "error": self._failed_why,
                "entries_recorded_late": len(unrecorded),
            },
        )
        try:
            self.journal.append([recovered, *unrecorded], self.clock.wall_time_s())
        except Exception as error:
            log.debug("the journal still cannot be written: %s", error)
            return
        with self._lock:
            del self._unrecorded[: len(unrecorded)]
            # What a writer kept meanwhile (its batch failed between the snapshot and now).
            late, self._unrecorded = self._unrecorded, []
            self.journal_failed = False
        if late:
            try:
                self._record(late)
            except JournalFailed:
                return  # failed again: kept, and retried
        if self.progress is not None:
            self.progress.state("running")
        log.warning(
            "the journal can be written again: guarding resumed; every zone it stopped stays "
            "stopped until the practitioner resumes it"
        )
        for transport in self.transports:
            transport.online()

    def _send_stop_again(self, live: _Live, now_s: float) -> None:
        """The session's cold-off command again: ``pause`` for a paused one (a stop would
        end what the practitioner may resume), ``stop`` otherwise."""
        if live.guard.state is SessionState.PAUSED:
            self._send(live, Outcome(DeviceCommand.PAUSE, ()), now_s)
            return
        reason = live.guard.stop_reason
        self._send(live, Outcome(DeviceCommand.STOP, (), reason), now_s)

    def _record(self, events: list[Event]) -> list[int]:
        if self.journal_failed:
            with self._lock:
                self._keep_unrecorded(events)
            raise JournalFailed(
                "the journal cannot be written: nothing is recorded or acknowledged until it "
                "can (retried every second)"
            )
        try:
            return self.journal.append(events, self.clock.wall_time_s())
        except Exception as error:
            with self._lock:
                self._keep_unrecorded(events)
            self._journal_broken(error)
            raise JournalFailed(f"the journal cannot be written: {clip(str(error))}") from error

    def _commit(
        self, events: list[Event], receipts: list[InboundReading], index: list[int]
    ) -> None:
        """Record a batch, then acknowledge its readings: at once when pumped by hand, or in
        the writer thread when running, so that the next readings are judged (and stops
        sent) while this batch is being fsynced."""
        if self._writer is None:
            try:
                seqs = self._record(events)
            except JournalFailed:
                self._release(receipts)
                raise
            self._acknowledge(receipts, [seqs[i] for i in index])
        else:
            self._writer.put((events, receipts, index))

    def _write_batches(self) -> None:
        """The writer thread: group commit of everything queued, then the acknowledgements."""
        assert self._writer is not None
        last_commit_s = -1e9
        while True:
            first = self._writer.get()
            if first is None:
                return
            wait_s = last_commit_s + self.min_commit_interval_s - time.monotonic()
            if wait_s > 0:
                time.sleep(wait_s)
            last_commit_s = time.monotonic()
            batches = [first]
            stop = False
            while True:
                try:
                    more = self._writer.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batches.append(more)
            events = [event for batch in batches for event in batch[0]]
            try:
                seqs = self._record(events)
            except JournalFailed:
                # Nothing is acknowledged: what was not kept is not claimed kept. But it is
                # released, or the broker would keep it in flight to us for ever.
                self._release([receipt for batch in batches for receipt in batch[1]])
                if stop:
                    return
                continue
            # One acknowledgement round per commit: a transport then answers each device
            # once for all of its readings in the commit.
            offset = 0
            receipts: list[InboundReading] = []
            receipt_seqs: list[int] = []
            for batch_events, batch_receipts, index in batches:
                receipts += batch_receipts
                receipt_seqs += [seqs[offset + i] for i in index]
                offset += len(batch_events)
            self._acknowledge(receipts, receipt_seqs)
            if stop:
                return

    @staticmethod
    def _release(receipts: list[InboundReading]) -> None:
        """Readings the journal could not keep: released by their transports without an
        acknowledgement to their devices (which still hold them and may send them again).
        MQTT: the broker's PUBACK; a reading never released stays in flight to the
        interlock, and at the broker's limit of such readings (Receive Maximum, 65,535)
        it sends the interlock nothing more, deaf after a long failure."""
        for receipt in receipts:
            try:
                receipt.transport.dismiss(receipt)
            except Exception:
                log.exception("interlock: releasing a reading the journal did not keep failed")

    @staticmethod
    def _acknowledge(receipts: list[InboundReading], seqs: list[int]) -> None:
        by_transport: dict[int, tuple[Transport, list[tuple[InboundReading, int]]]] = {}
        for receipt, seq in zip(receipts, seqs, strict=True):
            entry = by_transport.setdefault(id(receipt.transport), (receipt.transport, []))
            entry[1].append((receipt, seq))
        for transport, items in by_transport.values():
            transport.acknowledge(items)

    # -- sessions and operator actions (any thread) ----------------------------------------
    def start_session(self, spec: SessionSpec) -> None:
        """Guard a new session from now. Refused while the device's current session runs,
        and once the journal has failed."""
        if self.journal_failed:
            raise ActionRefused(f"session {spec.session_id}: the interlock's journal failed")
        with self._lock:
            events = self._begin(spec, self.clock.now_s(), None)
        self._record(events)

    def _begin(self, spec: SessionSpec, now_s: float, transport: Transport | None) -> list[Event]:
        if spec.session_id in self._sessions:
            raise ActionRefused(f"session {spec.session_id}: already started")
        if spec.delivered_exposure_s >= spec.limits.max_exposure_s:
            raise ActionRefused(
                f"session {spec.session_id}: the zone has had {spec.delivered_exposure_s:g} s "
                f"of exposure, its limit is {spec.limits.max_exposure_s:g} s"
            )
        events: list[Event] = []
        current = self._by_device.get(spec.device_id)
        if current is not None:
            previous = self._sessions[current].guard
            if previous.armed:
                raise ActionRefused(
                    f"device {spec.device_id}: session {current} is still {previous.state.value}"
                )
            events += previous.end_for_next_session(now_s).events
        guard = SessionGuard(spec, now_s)
        self._sessions[spec.session_id] = self._unstopped[spec.session_id] = _Live(guard, transport)
        self._by_device[spec.device_id] = spec.session_id
        self._orphaned.pop(spec.device_id, None)
        limits = spec.limits
        return [
            *events,
            Event(
                "session-started",
                spec.session_id,
                spec.device_id,
                0.0,
                {
                    "zone": spec.zone,
                    "modality": spec.modality,
                    "planned_duration_s": spec.planned_duration_s,
                    "floor_temp_c": limits.floor_temp_c,
                    "warning_temp_c": limits.warning_temp_c,
                    "max_exposure_s": limits.max_exposure_s,
                    "no_valid_reading_s": limits.no_valid_reading_s,
                    "delivered_exposure_s": spec.delivered_exposure_s,
                    "sources": dict(limits.sources),
                },
            ),
        ]

    def stop(self, session_id: str, by_user: str, reason: str | None = None) -> None:
        """The operator's stop: the device is told first, the journal after. The zone may
        then be resumed (:meth:`resume_after_stop`) or ended (:meth:`end`)."""
        self._operator(session_id, lambda g, now: g.operator_stop(by_user, now, reason))

    def pause(self, session_id: str, by_user: str) -> None:
        self._operator(session_id, lambda g, now: g.pause(by_user, now))

    def resume(self, session_id: str, by_user: str) -> None:
        self._operator(session_id, lambda g, now: g.resume(by_user, now))

    def resume_after_stop(self, session_id: str, by_user: str, reason: str) -> None:
        """Resume a stopped zone (see :meth:`SessionGuard.resume_after_stop` for when)."""
        self._operator(session_id, lambda g, now: g.resume_after_stop(by_user, reason, now))

    def end(self, session_id: str, by_user: str, reason: str) -> None:
        """Close a session for good (the cold stops first if it was on)."""
        self._operator(session_id, lambda g, now: g.end(by_user, reason, now))

    def acknowledge(self, session_id: str, alarm_id: str, by_user: str) -> None:
        self._operator(session_id, lambda g, now: g.acknowledge(alarm_id, by_user, now))

    def silence(self, session_id: str, alarm_id: str, by_user: str, duration_s: float) -> None:
        self._operator(session_id, lambda g, now: g.silence(alarm_id, by_user, duration_s, now))

    def _operator(self, session_id: str, action: Callable[[SessionGuard, float], Outcome]) -> None:
        with self._lock:
            live = self._live(session_id)
            now_s = self.clock.now_s()
            outcome = action(live.guard, now_s)
            if live.guard.armed:
                self._unstopped[session_id] = live
            if outcome.command is DeviceCommand.RESUME:
                live.stop_latency_ms = None
            self._send(live, outcome, now_s)
        self._flush()
        if outcome.events:
            self._record(list(outcome.events))

    def _live(self, session_id: str) -> _Live:
        try:
            return self._sessions[session_id]
        except KeyError:
            raise UnknownSession(
                f"session_id = {session_id!r}: not guarded by this interlock "
                f"(guarding {sorted(self._sessions) or 'none'})"
            ) from None

    # -- queries --------------------------------------------------------------------------
    def guard(self, session_id: str) -> SessionGuard:
        with self._lock:
            return self._live(session_id).guard

    def session_status(self, session_id: str) -> dict[str, Any]:
        """A JSON-ready snapshot of one session for a live view (in-process callers)."""
        with self._lock:
            live = self._live(session_id)
            guard = live.guard
            now_s = self.clock.now_s()
            forecast = guard.last_forecast
            return {
                "session_id": session_id,
                "device_id": guard.spec.device_id,
                "zone": guard.spec.zone,
                "modality": guard.spec.modality,
                "state": guard.state.value,
                "t_s": round(guard.t_s(now_s), 3),
                "exposure_s": round(guard.exposure_s(now_s), 3),
                "stop_reason": guard.stop_reason.value if guard.stop_reason else None,
                "readings": guard.readings,
                "min_skin_temp_c": guard.min_valid_temp_c,
                "predicted_temp_c": None if forecast is None else round(forecast.horizon_temp_c, 3),
                "alarms": [alarm.to_json() for alarm in guard.alarms],
                "stop_latency_ms": live.stop_latency_ms,
            }

    def session_ids(self) -> list[str]:
        with self._lock:
            return list(self._sessions)

    def stop_latency_ms(self, session_id: str) -> float | None:
        with self._lock:
            return self._live(session_id).stop_latency_ms

    def _read_all(self, kinds: Sequence[str]) -> list[JournalEntry]:
        """Every journal entry of these kinds, oldest first (at start-up)."""
        found: list[JournalEntry] = []
        seq = 0
        while batch := self.journal.read_after(seq, 5000, kinds=kinds):
            found += batch
            seq = batch[-1].seq
        return found

    def _close_orphans(self) -> list[str]:
        """Sessions a killed interlock left open (started or resumed, and neither stopped
        nor ended since): record their end. Their devices, to be told to stop once the
        transports run (they have already stopped themselves on the missing heartbeat)."""
        open_sessions: dict[str, str | None] = {}
        seq = 0
        kinds = ("session-started", "resume-after-stop", "stop", "session-ended")
        while batch := self.journal.read_after(seq, 5000, kinds=kinds):
            for entry in batch:
                if not entry.session_id:
                    continue
                if entry.kind in ("session-started", "resume-after-stop"):
                    open_sessions[entry.session_id] = entry.device_id
                else:
                    open_sessions.pop(entry.session_id, None)
            seq = batch[-1].seq
        if not open_sessions:
            return []
        self._record(
            [
                Event(
                    "stop",
                    session_id,
                    device_id,
                    None,
                    {
                        "reason": StopReason.NO_VALID_READING.value,
                        "detail": "the interlock restarted; the session's guard was lost, so it is "
                        "closed (the device stops itself when heartbeats stop)",
                    },
                )
                for session_id, device_id in open_sessions.items()
            ]
        )
        devices = []
        for session_id, device_id in open_sessions.items():
            if device_id is not None:
                self._orphaned[device_id] = session_id
                self._unguarded_stop_sent[device_id] = self.clock.now_s()
                devices.append(device_id)
        return devices

    def _stop_orphans(self, devices: list[str]) -> None:
        for device_id in devices:
            for transport in self.transports:
                transport.send_command(
                    device_id, DeviceCommand.STOP, {"reason": "interlock-restarted"}
                )
