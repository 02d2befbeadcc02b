"""The audit chain's seal and its verification, over plain rows (no Django).

Each entry's ``entry_hash`` is HMAC-SHA256, under the audit key named by its ``key_id``, of
its canonical content and the previous entry's hash. Without the key nobody can compute a
valid seal, so editing an entry and re-hashing it and every later one (what someone with
full database access could do to a plain SHA-256 chain) leaves the edited entry with a seal
that does not verify. Rotating the key does not weaken older entries: the first entry under
the new key seals the hash of the last entry under the old one.

Deleting the newest entries (and moving the head back) leaves a shorter chain whose seals
all verify; the signed checkpoints kept outside the database catch that: each names an
entry number and its seal, which the chain must still contain.

:func:`check` runs over any iterable of :class:`Row` in ``seq`` order: the live database's
entries, a SQLite backup's, or a PostgreSQL dump's, so that a backup is verified before it
is restored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

GENESIS_HASH = "0" * 64
#: Domain separation: a seal of this log cannot be mistaken for any other HMAC of the key.
_DOMAIN = b"cryoderm audit entry v2\n"


@dataclass(frozen=True)
class Row:
    """One entry as stored; ``created_at`` in canonical form (:func:`canonical_time`)."""

    seq: int
    created_at: str
    actor: str
    action: str
    target: str
    detail: str
    prev_hash: str
    entry_hash: str
    key_id: str


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement, kept outside the database, that entry ``seq`` had seal ``entry_hash``."""

    seq: int
    entry_hash: str
    signed_at: str


@dataclass(frozen=True)
class Verification:
    """The result of walking the chain: ``ok``, how many entries were checked, and where and
    why it breaks (``broken_seq`` is the first entry found wrong, None when intact).
    ``notes`` says what the verdict rests on (keys, checkpoints)."""

    ok: bool
    entries: int
    broken_seq: int | None = None
    reason: str = ""
    notes: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        if self.ok:
            head = f"audit chain intact: {self.entries} entries"
        elif self.broken_seq is None:
            head = f"audit chain cannot be verified: {self.reason}"
        else:
            head = f"audit chain broken at entry #{self.broken_seq}: {self.reason}"
        return "; ".join([head, *self.notes])


def canonical_time(value: dt.datetime | str) -> str:
    """A timestamp as hashed: UTC, ISO 8601 with microseconds. Naive values (SQLite's text)
    are UTC, as Django stores them."""
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def seal(key: bytes, row: Row) -> str:
    """HMAC-SHA256 of the entry's canonical content, its link and its key id (everything
    in ``row`` but ``entry_hash``)."""
    content = [
        row.seq,
        row.created_at,
        row.actor,
        row.action,
        row.target,
        row.detail,
        row.prev_hash,
        row.key_id,
    ]
    payload = json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return hmac.new(key, _DOMAIN + payload, hashlib.sha256).hexdigest()


def check(
    rows: Iterable[Row],
    head: tuple[int, str],
    keys: Mapping[str, bytes],
    checkpoints: Sequence[Checkpoint] = (),
) -> Verification:
    """Check every entry's seal and link, that the chain ends where the head says, and that
    it still holds every checkpointed entry with its checkpointed seal."""
    at_seq = {cp.seq: cp for cp in checkpoints}
    expected_seq = 1
    expected_prev = GENESIS_HASH

    def broken(seq: int, reason: str) -> Verification:
        return Verification(False, expected_seq - 1, seq, reason)

    for row in rows:
        if row.seq != expected_seq:
            return broken(
                expected_seq,
                f"entry #{expected_seq} is missing (the next entry present is #{row.seq}): "
                "entries were deleted",
            )
        key = keys.get(row.key_id)
        if key is None:
            return broken(
                row.seq,
                f"it is sealed with audit key {row.key_id or '(none)'!r}, which is not in the "
                "key directory: it cannot be verified (restore that key file, or the entry "
                "was forged)",
            )
        if not hmac.compare_digest(seal(key, row), row.entry_hash):
            return broken(
                row.seq,
                f"its content does not match its seal: entry #{row.seq} was edited, or "
                "re-hashed by someone without the audit key",
            )
        if row.prev_hash != expected_prev:
            return broken(
                row.seq,
                f"it does not link to entry #{row.seq - 1}: an earlier entry was altered "
                "or replaced",
            )
        checkpoint = at_seq.get(row.seq)
        if checkpoint is not None and checkpoint.entry_hash != row.entry_hash:
            return broken(
                row.seq,
                f"it differs from the signed checkpoint of {checkpoint.signed_at}: "
                "this entry or an earlier one was rewritten after that checkpoint",
            )
        expected_prev = row.entry_hash
        expected_seq += 1
    count = expected_seq - 1
    newest_checkpoint = max(checkpoints, key=lambda cp: cp.seq, default=None)
    if newest_checkpoint is not None and newest_checkpoint.seq > count:
        return Verification(
            False,
            count,
            count + 1,
            f"the log ends at entry #{count}, but a checkpoint signed at "
            f"{newest_checkpoint.signed_at} records entry #{newest_checkpoint.seq}: "
            "the newest entries were deleted",
        )
    head_seq, head_hash = head
    if head_seq != count or head_hash != expected_prev:
        return Verification(
            False,
            count,
            count + 1 if head_seq > count else head_seq,
            f"the chain ends at entry #{count} but the head records #{head_seq}: "
            "the newest entries were deleted or the head was altered",
        )
    notes = []
    if newest_checkpoint is None:
        notes.append(
            "no signed checkpoint yet, so a deletion of the newest entries could not be "
            "detected (write one: cryoderm audit checkpoint)"
        )
    else:
        counted = (
            "1 signed checkpoint agrees"
            if len(checkpoints) == 1
            else (f"{len(checkpoints)} signed checkpoints agree")
        )
        notes.append(
            f"{counted}, the newest at entry #{newest_checkpoint.seq} "
            f"({newest_checkpoint.signed_at})"
        )
    return Verification(True, count, notes=tuple(notes))
