"""The interlock's durable local journal: every reading, alarm, acknowledgement and stop.

One SQLite database per interlock (``DIR/journal.sqlite3``) in WAL mode with
``synchronous=FULL``: :meth:`Journal.append` returns only after the transaction is on disk
(the WAL is fsynced at each commit), and only then does the interlock acknowledge the
readings in it. A SIGKILL or a power cut after the acknowledgement therefore loses nothing
acknowledged; one before it loses at most readings the device was never told were kept.

The journal is also the control channel between processes: another process (the clinic)
writes a command row with :meth:`Journal.submit_command`; the interlock takes it within a
loop tick (:mod:`cryoderm.interlock.control`). Readers in other processes use
:meth:`Journal.read_after` with the last sequence number they have seen.

Only the standard library's sqlite3 is used: the journal is local to the interlock and
needs neither the clinic's database nor its driver.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from cryoderm.interlock.errors import InterlockError, InvalidInterlockInput, JournalFailed
from cryoderm.interlock.model import Event

JOURNAL_FILE = "journal.sqlite3"
# Payloads are written with orjson (this runs for every reading) and stored as text, as the
# json module did: keys that are not strings become strings, numpy numbers stay numbers
# (np.float64 would otherwise become a string), anything else unknown is written as str();
# _finite keeps NaN from becoming null.
_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY

_SCHEMA = """
CREATE TABLE IF NOT EXISTS event (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    session_id TEXT,
    device_id TEXT,
    t_s REAL,
    wall_time_s REAL NOT NULL,
    device_seq INTEGER,
    payload TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS event_reading_once
    ON event(device_id, session_id, device_seq) WHERE kind = 'reading';
CREATE INDEX IF NOT EXISTS event_session ON event(session_id, seq);
CREATE TABLE IF NOT EXISTS command (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_wall_time_s REAL NOT NULL,
    body TEXT NOT NULL,
    taken INTEGER NOT NULL DEFAULT 0
);
"""
# Added to the command table after the first journals were written: what became of each,
# and its priority (0 first: a stop goes before what was queued ahead of it).
_COMMAND_ADDED_COLUMNS = {
    "outcome": "TEXT",
    "error": "TEXT",
    "priority": "INTEGER NOT NULL DEFAULT 1",
}
# The commands not yet taken, in the order they are taken: found without a scan of every
# command ever sent (the loop looks every tick).
_PENDING_INDEX = (
    "CREATE INDEX IF NOT EXISTS command_pending ON command(priority, id) WHERE taken = 0"
)


@dataclass(frozen=True)
class JournalEntry:
    """One recorded event. seq: the journal's own increasing sequence number."""

    seq: int
    kind: str
    session_id: str | None
    device_id: str | None
    t_s: float | None
    wall_time_s: float
    payload: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "kind": self.kind,
            "session_id": self.session_id,
            "device_id": self.device_id,
            "t_s": self.t_s,
            "wall_time_s": self.wall_time_s,
            "payload": self.payload,
        }


class Journal:
    """The journal in directory ``path`` (created if absent). Safe to share between threads;
    several processes may open the same directory (SQLite locks)."""

    def __init__(self, path: str | Path) -> None:
        self.directory = Path(path)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise InvalidInterlockInput(
                f"journal directory = {str(path)!r}: cannot be created ({error.strerror})"
            ) from None
        self.file = self.directory / JOURNAL_FILE
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(
                self.file, timeout=30.0, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as error:
            raise self._unwritable(error) from None
        try:
            self._open()
        except sqlite3.Error as error:
            self._db.close()
            raise self._unwritable(error) from None

    def _unwritable(self, error: Exception) -> InterlockError:
        """A directory that cannot be written (read-only, no permission) is a configuration
        to correct (exit 2: a watchdog does not retry it); any other failure (a full disk,
        an I/O error) may pass (exit 1: a watchdog retries, and guards once it can)."""
        why = _why_not_writable(self.directory)
        where = f"journal directory = {str(self.directory)!r}: the journal cannot be"
        if why is not None:
            return InvalidInterlockInput(f"{where} opened for writing ({why})")
        return JournalFailed(f"{where} written now ({error}: a full disk?)")

    def _open(self) -> None:
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        present = {row[1] for row in self._db.execute("PRAGMA table_info(command)")}
        for name, kind in _COMMAND_ADDED_COLUMNS.items():
            if name not in present:
                try:
                    self._db.execute(f"ALTER TABLE command ADD COLUMN {name} {kind}")
                except sqlite3.OperationalError as error:
                    if "duplicate column" not in str(error):  # another process was first
                        raise
        self._db.execute(_PENDING_INDEX)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def append(self, events: Sequence[Event], wall_time_s: float) -> list[int]:
        """Record events in one transaction, durable on return; the seq of each.

        A reading already recorded (same device, session and device seq, as after a
        retransmission) is not recorded twice; its seq is the earlier one."""
        rows = [_row(event, wall_time_s) for event in events]
        seqs: list[int] = []
        with self._lock:
            cursor = self._db.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                for row in rows:
                    cursor.execute(
                        "INSERT OR IGNORE INTO event (kind, session_id, device_id, t_s, "
                        "wall_time_s, device_seq, payload) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        row,
                    )
                    if cursor.rowcount == 1:
                        seqs.append(int(cursor.lastrowid or 0))
                    else:
                        found = cursor.execute(
                            "SELECT seq FROM event WHERE kind = 'reading' AND device_id = ? "
                            "AND session_id IS ? AND device_seq = ?",
                            (row[2], row[1], row[5]),
                        ).fetchone()
                        seqs.append(int(found[0]))
                cursor.execute("COMMIT")
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
        return seqs

    def read_after(
        self,
        seq: int = 0,
        limit: int = 1000,
        session_id: str | None = None,
        kinds: Sequence[str] | None = None,
    ) -> list[JournalEntry]:
        """Entries with a seq greater than ``seq``, oldest first, at most ``limit``
        (optionally of one session, of some kinds only)."""
        query = (
            "SELECT seq, kind, session_id, device_id, t_s, wall_time_s, payload FROM event "
            "WHERE seq > ?"
        )
        params: list[Any] = [seq]
        if session_id is not None:
            query += " AND session_id = ?"
            params.append(session_id)
        if kinds is not None:
            query += f" AND kind IN ({', '.join('?' for _ in kinds)})"
            params.extend(kinds)
        query += " ORDER BY seq LIMIT ?"
        params.append(limit)
        with self._lock:
            rows = self._db.execute(query, params).fetchall()
        return [
            JournalEntry(int(r[0]), r[1], r[2], r[3], r[4], float(r[5]), orjson.loads(r[6]))
            for r in rows
        ]

    def last_seq(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM event").fetchone()
        return int(row[0])

    def reading_seqs(self, device_id: str) -> set[int]:
        """The device sequence numbers of every reading recorded for a device."""
        with self._lock:
            rows = self._db.execute(
                "SELECT device_seq FROM event WHERE kind = 'reading' AND device_id = ?",
                (device_id,),
            ).fetchall()
        return {int(r[0]) for r in rows}

    # -- control channel ------------------------------------------------------------------
    def submit_command(self, body: dict[str, Any], wall_time_s: float, priority: int = 1) -> int:
        """Queue a command for the interlock (durable on return); its id. priority: 0 is
        taken before 1, whatever was queued first (:mod:`.control` says which)."""
        text = json.dumps(body, allow_nan=False)
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO command (created_wall_time_s, body, priority) VALUES (?, ?, ?)",
                (wall_time_s, text, priority),
            )
            return int(cursor.lastrowid or 0)

    def take_commands(self, limit: int) -> list[tuple[int, Any]]:
        """At most ``limit`` commands not yet taken, by priority then age, as stored (JSON
        text, unread: the caller decodes each with its caps); each is marked taken."""
        query = "SELECT id, body FROM command WHERE taken = 0 ORDER BY priority, id LIMIT ?"
        with self._lock:
            # Cheap check first: the loop polls every tick and usually finds nothing.
            if self._db.execute("SELECT 1 FROM command WHERE taken = 0 LIMIT 1").fetchone() is None:
                return []
            cursor = self._db.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                rows = cursor.execute(query, (limit,)).fetchall()
                cursor.executemany(
                    "UPDATE command SET taken = 1 WHERE id = ?", [(row[0],) for row in rows]
                )
                cursor.execute("COMMIT")
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
        return [(int(r[0]), r[1]) for r in rows]

    def record_outcome(self, command_id: int, outcome: str, error: str | None = None) -> None:
        """What became of a command: ``applied`` or ``rejected`` (with the error)."""
        self.record_outcomes([(command_id, outcome, error)])

    def record_outcomes(self, outcomes: Sequence[tuple[int, str, str | None]]) -> None:
        """What became of several commands (id, outcome, error), in one transaction."""
        with self._lock:
            cursor = self._db.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                cursor.executemany(
                    "UPDATE command SET outcome = ?, error = ? WHERE id = ?",
                    [(outcome, error, command_id) for command_id, outcome, error in outcomes],
                )
                cursor.execute("COMMIT")
            except BaseException:
                cursor.execute("ROLLBACK")
                raise

    def command_outcome(self, command_id: int) -> tuple[str, str | None] | None:
        """(outcome, error) of a command, or None while it is pending."""
        with self._lock:
            row = self._db.execute(
                "SELECT outcome, error FROM command WHERE id = ?", (command_id,)
            ).fetchone()
        if row is None or row[0] is None:
            return None
        return str(row[0]), row[1]


def _why_not_writable(directory: Path) -> str | None:
    """Why a directory cannot be written, when the file system says (a read-only mount, as
    after the kernel remounted a failing disk; no permission)."""
    try:
        if os.statvfs(directory).f_flag & os.ST_RDONLY:
            return "it is on a read-only file system"
    except OSError as error:
        return error.strerror
    if not os.access(directory, os.W_OK):
        return "no permission to write in it"
    return None


def _row(event: Event, wall_time_s: float) -> tuple[Any, ...]:
    device_seq = event.payload.get("seq") if event.kind == "reading" else None
    return (
        event.kind,
        event.session_id,
        event.device_id,
        event.t_s,
        wall_time_s,
        device_seq,
        orjson.dumps(_finite(event.payload), default=str, option=_ORJSON_OPTIONS).decode(),
    )


_NOT_FINITE = (math.inf, -math.inf)


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: a non-finite number is recorded as its name."""
    if isinstance(value, dict):
        # Nearly every payload (each reading's) has nothing to convert: look before copying.
        for item in value.values():
            if isinstance(item, dict | list | tuple) or (
                isinstance(item, float) and (item != item or item in _NOT_FINITE)
            ):
                return {k: _finite(v) for k, v in value.items()}
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def entries_of(
    journal: Journal, session_id: str, kinds: Iterable[str] | None = None
) -> list[JournalEntry]:
    """Every entry of a session (optionally only some kinds), oldest first."""
    wanted = set(kinds) if kinds is not None else None
    found: list[JournalEntry] = []
    seq = 0
    while True:
        batch = journal.read_after(seq, 5000, session_id=session_id)
        if not batch:
            return found
        found += [e for e in batch if wanted is None or e.kind in wanted]
        seq = batch[-1].seq
