"""Appending to, verifying and exporting the sealed audit log."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from . import chain, checkpoints, keys
from .models import AuditEntry, ChainHead

HEAD_ID = 1


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

    Every audited read and write comes here, so it is short, and the chain head (which
    orders the appends) is locked for as little as possible. PostgreSQL: two statements, read
    the head (no lock), then ``audit_append`` (migration 0005), which locks the head, checks
    it has not moved, inserts the sealed entry and moves the head inside the database; had
    the head moved, the entry is sealed again on the new head. Outside a transaction that
    statement commits by itself, so no other append ever waits on a lock held across a round
    trip to this process. SQLite: lock and read the head, insert the entry, move the head
    (its writing transaction holds the whole database anyway). Either way the database's
    guard checks that the head moves to that entry, and inside a caller's transaction the
    head stays locked until it ends: callers record last, just before they commit. No
    savepoint: an append that fails fails the caller's transaction."""
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
        _append_by_function(connection, entry, ring.current_key)
    else:
        with transaction.atomic(savepoint=False), connection.cursor() as cursor:
            entry.seq, entry.prev_hash = _lock_head(connection, cursor)
            entry.entry_hash = chain.seal(ring.current_key, _row(entry))
            cursor.execute(_INSERT, _values(connection, entry))
            entry.pk = cursor.fetchone()[0]
            cursor.execute(_MOVE_HEAD, [entry.seq, entry.entry_hash, HEAD_ID])
    seq = entry.seq
    # Outside a transaction the entry is committed already and this runs at once.
    transaction.on_commit(lambda: checkpoints.after_commit(seq))
    entry._state.adding = False
    return entry


#: assumption: outside a transaction, each attempt that finds the head moved by a concurrent
#: append commits nothing and tries again on the new head; a few tries settle all but a
#: flood, and then one transaction (whose first failed attempt keeps the head locked, so the
#: second succeeds) ends the race.
AUTOCOMMIT_TRIES = 5
_READ_HEAD = "SELECT seq, entry_hash FROM audit_chainhead WHERE id = %s"
_APPEND = "SELECT audit_append(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"


def _append_by_function(connection: Any, entry: AuditEntry, key: bytes) -> None:
    if not connection.in_atomic_block and _try_append(connection, entry, key, AUTOCOMMIT_TRIES):
        return
    with transaction.atomic(savepoint=False):
        # In a transaction, a failed attempt leaves the head locked by this one (the
        # function's FOR UPDATE): the second attempt reads a head nobody else can move.
        if not _try_append(connection, entry, key, 2):
            raise RuntimeError("the audit chain head moved under its own lock")


def _try_append(connection: Any, entry: AuditEntry, key: bytes, tries: int) -> bool:
    with connection.cursor() as cursor:
        for _ in range(tries):
            entry.seq, entry.prev_hash = _read_head(cursor)
            entry.entry_hash = chain.seal(key, _row(entry))
            values = _values(connection, entry)
            cursor.execute(
                _APPEND,
                [HEAD_ID, entry.seq, entry.prev_hash, *values[1:6], entry.entry_hash, entry.key_id],
            )
            appended = cursor.fetchone()[0]
            if appended is not None:
                entry.pk = appended
                return True
    return False


def _read_head(cursor: Any) -> tuple[int, str]:
    """The next entry's number and the newest entry's hash, as last committed (no lock)."""
    cursor.execute(_READ_HEAD, [HEAD_ID])
    head = cursor.fetchone()
    if head is None:
        # The head row is made by the migration; only a flush of the database removes it.
        ChainHead.objects.get_or_create(pk=HEAD_ID)
        return _read_head(cursor)
    return int(head[0]) + 1, str(head[1])


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


def _lock_head(connection: Any, cursor: Any) -> tuple[int, str]:
    """The next entry's number and the newest entry's hash, the head locked until the end of
    the transaction (SQLite's writing transaction holds the whole database already)."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    cursor.execute(f"SELECT seq, entry_hash FROM audit_chainhead WHERE id = %s{lock}", [HEAD_ID])
    head = cursor.fetchone()
    if head is None:
        # The head row is made by the migration; only a flush of the database removes it.
        ChainHead.objects.get_or_create(pk=HEAD_ID)
        return _lock_head(connection, cursor)
    return int(head[0]) + 1, str(head[1])


def verify(
    *, checkpoint_file: Path | None = None, public_key: Path | None = None
) -> chain.Verification:
    """Check every entry's seal and link, that the chain ends where the head says, and that
    it agrees with every signed checkpoint (the key directory's file, or the one given)."""
    found = checkpoints.read(checkpoint_file, keys.public_key(public_key) if public_key else None)
    if found.problems:
        return chain.Verification(False, 0, None, found.problems[0])
    head = ChainHead.objects.filter(pk=HEAD_ID).first()
    # Plain tuples, not model instances: verifying a million entries is then a matter of
    # seconds rather than minutes.
    fields = ("seq", "created_at", "actor", "action", "target", "detail", "prev_hash")
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
        )
        for seq, created_at, actor, action, target, detail, prev_hash, entry_hash, key_id in (
            AuditEntry.objects.order_by("seq")
            .values_list(*fields, "entry_hash", "key_id")
            .iterator(chunk_size=5000)
        )
    )
    return chain.check(
        rows,
        (head.seq, head.entry_hash) if head else (0, chain.GENESIS_HASH),
        keys.verifying_keys(),
        found.checkpoints,
    )


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
