"""Appending to, verifying and exporting the sealed audit log."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from . import chain, checkpoints, keys
from .models import AuditEntry, ChainHead


def actor_label(actor: object) -> str:
    """``user:<id>:<username>`` for a user, the string itself for a label, ``system`` for None."""
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor
    if getattr(actor, "is_authenticated", False) and getattr(actor, "pk", None) is not None:
        return f"user:{actor.pk}:{actor.get_username()}"  # type: ignore[attr-defined]
    return "anonymous"


def target_label(target: object) -> str:
    """``<app>.<model>:<id>`` for a model instance, the string itself, or empty for None."""
    if target is None:
        return ""
    if isinstance(target, models.Model):
        return f"{target._meta.label_lower}:{target.pk}"
    return str(target)


def _canonical(detail: Mapping[str, Any] | None) -> str:
    return json.dumps(
        dict(detail or {}),
        cls=DjangoJSONEncoder,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def _row(entry: AuditEntry) -> chain.Row:
    return chain.Row(
        seq=entry.seq,
        created_at=chain.canonical_time(entry.created_at),
        actor=entry.actor,
        action=entry.action,
        target=entry.target,
        detail=entry.detail,
        prev_hash=entry.prev_hash,
        entry_hash=entry.entry_hash,
        key_id=entry.key_id,
        lane=entry.lane,
    )


def record(
    actor: object, action: str, target: object = None, detail: Mapping[str, Any] | None = None
) -> AuditEntry:
    """Append one entry, in the caller's transaction when there is one.

    actor: a user, a label such as ``device:SN123``, or None for the system.
    action: ``<thing>.<verb>``, e.g. ``client.read``, ``session.start``.
    target: the record concerned (a model instance or a label), or None.
    detail: JSON-serialisable facts; no secrets or passwords.

    The entry is sealed with the current audit key (HMAC-SHA256, :mod:`.chain`); once the
    outermost transaction commits, a signed checkpoint is written when one is due.

    Every audited read and write comes here. An append links the entry into one of the
    log's lanes and locks that lane's head until the caller's transaction ends (callers
    record last, just before they commit), so appends at the same moment must not all want
    the same lane. PostgreSQL: lock the lowest lane no other transaction holds (``FOR UPDATE
    SKIP LOCKED``, drawing the entry's number in the same statement), seal, then
    ``audit_append`` (migration 0006) inserts the entry and moves the head, inside the
    database; outside a caller's transaction, these run in one of their own. Sequential
    appends all go to lane 1, and an append waits for a lane only when all of them are
    held. SQLite: its writing transaction holds the whole database, so everything goes to
    lane 1: read the head, insert the entry, move the head. Either way the database's guard checks
    that a head moves forward to an entry of its lane that links to it. No savepoint: an
    append that fails fails the caller's transaction."""
    ring = keys.keyring()
    entry = AuditEntry(
        created_at=timezone.now(),
        actor=actor_label(actor)[:200],
        action=action,
        target=target_label(target)[:200],
        detail=_canonical(detail),
        key_id=ring.current,
    )
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        _append_to_a_free_lane(connection, entry, ring.current_key)
    else:
        with transaction.atomic(savepoint=False), connection.cursor() as cursor:
            entry.lane = 1
            entry.seq, entry.prev_hash = _sqlite_head(cursor)
            entry.entry_hash = chain.seal(ring.current_key, _row(entry))
            cursor.execute(_INSERT, _values(connection, entry))
            entry.pk = cursor.fetchone()[0]
            cursor.execute(_MOVE_HEAD, [entry.seq, entry.entry_hash, entry.lane])
    seq = entry.seq
    # Outside a transaction the entry is committed already and this runs at once.
    transaction.on_commit(lambda: checkpoints.after_commit(seq))
    entry._state.adding = False
    return entry


#: The lowest lane no other transaction holds, locked, with its head and the entry's number.
_CLAIM = (
    "SELECT id, entry_hash, nextval('audit_entry_seq') FROM audit_chainhead "
    "ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"
)
#: One lane, waiting for it (when every lane is held).
_WAIT_FOR = (
    "SELECT id, entry_hash, nextval('audit_entry_seq') FROM audit_chainhead WHERE id = %s "
    "FOR UPDATE"
)
_APPEND = "SELECT audit_append(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"


def _append_to_a_free_lane(connection: Any, entry: AuditEntry, key: bytes) -> None:
    """Claim the lowest lane no other transaction holds (or, when every lane is held, wait
    for one), seal the entry on its head, and append it (``audit_append``, which checks the
    head once more). A transaction's own lanes are free to it, so a transaction that
    holds a lane never waits: no two appends can wait for each other."""
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(_CLAIM)
        head = cursor.fetchone()
        if head is None:
            ensure_lanes(connection.alias)  # only a flush of the database removes the heads
            cursor.execute(_WAIT_FOR, [random.randint(1, chain.LANES)])
            head = cursor.fetchone()
        entry.lane, entry.prev_hash, entry.seq = int(head[0]), str(head[1]), int(head[2])
        entry.entry_hash = chain.seal(key, _row(entry))
        values = _values(connection, entry)
        cursor.execute(
            _APPEND,
            [entry.lane, entry.seq, entry.prev_hash, *values[1:6], entry.entry_hash, entry.key_id],
        )
        answer = int(cursor.fetchone()[0])
    if answer <= 0:
        raise RuntimeError("the audit chain's head moved under its own lock")
    entry.pk = answer


def ensure_lanes(using: str = "default") -> None:
    """Every lane's head row, at its genesis where it is missing (after a flush)."""
    ChainHead.objects.using(using).bulk_create(
        [
            ChainHead(id=lane, seq=0, entry_hash=chain.lane_genesis(lane))
            for lane in range(1, chain.LANES + 1)
        ],
        ignore_conflicts=True,
    )


def heads() -> dict[int, tuple[int, str]]:
    """Each lane's newest entry (seq, seal), as committed."""
    return {
        lane: (seq, entry_hash)
        for lane, seq, entry_hash in ChainHead.objects.values_list("id", "seq", "entry_hash")
    }


_ENTRY_COLUMNS = (
    "seq",
    "created_at",
    "actor",
    "action",
    "target",
    "detail",
    "prev_hash",
    "entry_hash",
    "key_id",
    "lane",
)
_INSERT = (
    f"INSERT INTO audit_auditentry ({', '.join(_ENTRY_COLUMNS)}) "
    f"VALUES ({', '.join(['%s'] * len(_ENTRY_COLUMNS))}) RETURNING id"
)
_MOVE_HEAD = "UPDATE audit_chainhead SET seq = %s, entry_hash = %s WHERE id = %s"


def _values(connection: Any, entry: AuditEntry) -> list[Any]:
    values = [getattr(entry, column) for column in _ENTRY_COLUMNS]
    values[1] = connection.ops.adapt_datetimefield_value(entry.created_at)
    return values


def _sqlite_head(cursor: Any) -> tuple[int, str]:
    """The next entry's number and lane 1's newest hash (SQLite's writing transaction holds
    the whole database already)."""
    cursor.execute(
        "SELECT (SELECT MAX(seq) FROM audit_chainhead), entry_hash FROM audit_chainhead "
        "WHERE id = 1"
    )
    head = cursor.fetchone()
    if head is None:
        ensure_lanes(cursor.db.alias)
        return _sqlite_head(cursor)
    return int(head[0]) + 1, str(head[1])


def verify(
    *, checkpoint_file: Path | None = None, public_key: Path | None = None
) -> chain.Verification:
    """Check every entry's seal and link, that the chain ends where the head says, and that
    it agrees with every signed checkpoint (the key directory's file, or the one given)."""
    found = checkpoints.read(checkpoint_file, keys.public_key(public_key) if public_key else None)
    if found.problems:
        return chain.Verification(False, 0, None, found.problems[0])
    # Plain tuples, not model instances: verifying a million entries is then a matter of
    # seconds rather than minutes.
    fields = ("seq", "created_at", "actor", "action", "target", "detail", "prev_hash", "lane")
    rows = (
        chain.Row(
            seq=seq,
            created_at=chain.canonical_time(created_at),
            actor=actor,
            action=action,
            target=target,
            detail=detail,
            prev_hash=prev_hash,
            entry_hash=entry_hash,
            key_id=key_id,
            lane=lane,
        )
        for seq, created_at, actor, action, target, detail, prev_hash, lane, entry_hash, key_id in (
            AuditEntry.objects.order_by("lane", "seq")
            .values_list(*fields, "entry_hash", "key_id")
            .iterator(chunk_size=5000)
        )
    )
    current = heads()
    verdict = chain.check(rows, current, keys.verifying_keys(), found.checkpoints)
    missing = [lane for lane in range(1, chain.LANES + 1) if lane not in current]
    if verdict.ok and missing:
        # The migrations make every lane's head and the triggers refuse to delete one: a
        # missing head was deleted with the guard lifted, and its lane's entries with it
        # would leave no other trace.
        return chain.Verification(
            False,
            0,
            None,
            f"the head of lane {missing[0]} is missing: it was deleted, and the entries of "
            "that lane may have been deleted with it",
        )
    return verdict


def entries(since_seq: int = 0) -> Iterator[dict[str, Any]]:
    """Entries after ``since_seq`` as plain dicts (``detail`` parsed), oldest first."""
    for entry in (
        AuditEntry.objects.filter(seq__gt=since_seq).order_by("seq").iterator(chunk_size=2000)
    ):
        yield {
            "seq": entry.seq,
            "created_at": chain.canonical_time(entry.created_at),
            "actor": entry.actor,
            "action": entry.action,
            "target": entry.target,
            "detail": json.loads(entry.detail),
            "prev_hash": entry.prev_hash,
            "entry_hash": entry.entry_hash,
            "key_id": entry.key_id,
        }


def export(stream: TextIO, *, actor: object, since_seq: int = 0) -> int:
    """Write entries after ``since_seq`` as JSON lines; the export itself is audited first.

    Returns the number of lines written."""
    record(actor, "audit.export", None, {"since_seq": since_seq})
    count = 0
    for item in entries(since_seq):
        stream.write(json.dumps(item, ensure_ascii=False, sort_keys=True) + "\n")
        count += 1
    return count
