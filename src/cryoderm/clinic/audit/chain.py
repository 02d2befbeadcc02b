"""The audit chain's seal and its verification, over plain rows (no Django).

Each entry's ``entry_hash`` is HMAC-SHA256, under the audit key named by its ``key_id``, of
its canonical content and the previous entry's hash. Without the key nobody can compute a
valid seal, so editing an entry and re-hashing it and every later one (what someone with
full database access could do to a plain SHA-256 chain) leaves the edited entry with a seal
that does not verify. Rotating the key does not weaken older entries: the first entry under
the new key seals the hash of the last entry under the old one.

The log is a few such chains side by side, its *lanes* (:data:`LANES`): each entry links
to the previous entry of its own lane, and each lane has its own head. Appends that happen
at the same moment go to different lanes, so that none waits for another's transaction to
end (an entry's lane is whichever was free; sequential appends all go to lane 1). Each lane
starts from its own genesis hash (:func:`lane_genesis`), so a lane's entries cannot be
passed off as another's. ``seq`` numbers entries across lanes in the order they were
appended; it increases along each lane, and may skip numbers (PostgreSQL draws it from a
sequence, and an append that is rolled back burns its number): what proves that nothing
was deleted is the link, not the numbering.

Deleting the newest entries of a lane (and moving its head back) leaves a shorter chain
whose seals all verify; the signed checkpoints kept outside the database catch that: each
names every lane's newest entry and its seal, which the lanes must still contain.

:func:`check` runs over any iterable of :class:`Row` in (``lane``, ``seq``) order: the live
database's entries, a SQLite backup's, or a PostgreSQL dump's, so that a backup is verified
before it is restored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

GENESIS_HASH = "0" * 64
#: assumption: 16 lanes. Appends wait only when every lane is held by an open transaction,
#: and a lane is held from an append to its transaction's commit (a few milliseconds, or a
#: core's wait under load). The HTTP load test holds at most 50 requests in flight; sampling
#: its PostgreSQL backends every 0.5 s for 15 s found at most 4 at once holding a lane (31
#: samples); 16 leaves room for four times that, while a checkpoint (one line naming every
#: lane's head) stays under 2 kB.
LANES = 16


def lane_genesis(lane: int) -> str:
    """The hash the first entry of ``lane`` links to: all zeros for lane 1 (the log's one
    chain before it had lanes), a hash of the lane's number for the others."""
    if lane == 1:
        return GENESIS_HASH
    return hashlib.sha256(f"cryoderm audit lane {lane}".encode("ascii")).hexdigest()


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
    lane: int = 1


#: Each lane's newest entry: lane -> (seq, entry_hash); (0, its genesis hash) when empty.
Heads = Mapping[int, tuple[int, str]]


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement, kept outside the database, that each lane's newest entry was
    ``heads[lane]`` = (seq, entry_hash) at ``signed_at``."""

    heads: tuple[tuple[int, int, str], ...]
    signed_at: str

    @property
    def seq(self) -> int:
        """The highest entry number it names."""
        return max((seq for _, seq, _ in self.heads), default=0)

    def within(self, heads: Heads) -> bool:
        """Whether every entry it names is at or before the given heads (a backup's)."""
        return all(seq <= heads.get(lane, (0, ""))[0] for lane, seq, _ in self.heads)


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
    heads: Heads,
    keys: Mapping[str, bytes],
    checkpoints: Sequence[Checkpoint] = (),
) -> Verification:
    """Check every entry's seal and its link to the previous entry of its lane, that each
    lane ends where its head says, and that the lanes still hold every checkpointed entry
    with its checkpointed seal. ``rows`` come in (lane, seq) order."""
    # (lane, seq) -> (seal, when signed), for every entry a checkpoint names
    promised: dict[tuple[int, int], tuple[str, str]] = {}
    for checkpoint in checkpoints:
        for lane, seq, entry_hash in checkpoint.heads:
            promised[(lane, seq)] = (entry_hash, checkpoint.signed_at)
    count = 0
    lane = 0
    last_seq = 0
    expected_prev = GENESIS_HASH
    ended: dict[int, tuple[int, str]] = {}

    def broken(seq: int, reason: str) -> Verification:
        return Verification(False, count, seq, reason)

    for row in rows:
        if row.lane != lane:
            if row.lane < lane:
                return broken(row.seq, f"entry #{row.seq} is out of order (lane {row.lane})")
            if lane:
                ended[lane] = (last_seq, expected_prev)
            if row.lane not in heads:
                return broken(
                    row.seq,
                    f"it is in lane {row.lane}, which the log does not have: the entry was "
                    "forged or moved",
                )
            lane, last_seq, expected_prev = row.lane, 0, lane_genesis(row.lane)
        if row.seq <= last_seq:
            return broken(row.seq, f"entry #{row.seq} is out of order in lane {lane}")
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
            before = f"entry #{last_seq}" if last_seq else "the start of its lane"
            return broken(
                row.seq,
                f"it does not link to {before}, the entry before it in lane {lane}: an entry "
                "between them is missing (deleted), or an earlier entry was altered or "
                "replaced",
            )
        checkpointed = promised.pop((lane, row.seq), None)
        if checkpointed is not None and checkpointed[0] != row.entry_hash:
            return broken(
                row.seq,
                f"it differs from the signed checkpoint of {checkpointed[1]}: "
                "this entry or an earlier one was rewritten after that checkpoint",
            )
        expected_prev = row.entry_hash
        last_seq = row.seq
        count += 1
    if lane:
        ended[lane] = (last_seq, expected_prev)
    if promised:
        (lane_seq, (_, signed_at)) = min(promised.items(), key=lambda item: item[0][1])
        missing_lane, missing_seq = lane_seq
        newest = ended.get(missing_lane, (0, ""))[0]
        what = (
            "the newest entries were deleted"
            if missing_seq > newest
            else f"entry #{missing_seq} was deleted or moved"
        )
        return Verification(
            False,
            count,
            missing_seq,
            f"the log's lane {missing_lane} ends at entry #{newest}, but a checkpoint signed at "
            f"{signed_at} records entry #{missing_seq}: {what}",
        )
    for head_lane, (head_seq, head_hash) in sorted(heads.items()):
        seq, entry_hash = ended.get(head_lane, (0, lane_genesis(head_lane)))
        if (head_seq, head_hash) != (seq, entry_hash):
            return Verification(
                False,
                count,
                head_seq if head_seq and head_seq != seq else seq + 1,
                f"lane {head_lane} ends at entry #{seq} but its head records #{head_seq}: "
                "the newest entries were deleted or the head was altered",
            )
    notes = []
    newest_checkpoint = max(checkpoints, key=lambda cp: cp.seq, default=None)
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
