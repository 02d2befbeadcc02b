"""Appending to, verifying and exporting the hash-chained audit log."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from .models import GENESIS_HASH, AuditEntry, ChainHead

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


def _timestamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def digest(entry: AuditEntry) -> str:
    """SHA-256 of the entry's content and its link to the previous entry."""
    content = [
        entry.seq,
        _timestamp(entry.created_at),
        entry.actor,
        entry.action,
        entry.target,
        entry.detail,
        entry.prev_hash,
    ]
    payload = json.dumps(content, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def record(
    actor: object, action: str, target: object = None, detail: Mapping[str, Any] | None = None
) -> AuditEntry:
    """Append one entry, in the caller's transaction when there is one.

    actor: a user, a label such as ``device:SN123``, or None for the system.
    action: ``<thing>.<verb>``, e.g. ``client.read``, ``session.start``.
    target: the record concerned (a model instance or a label), or None.
    detail: JSON-serialisable facts; no secrets or passwords."""
    with transaction.atomic():
        head, _ = ChainHead.objects.select_for_update().get_or_create(pk=HEAD_ID)
        entry = AuditEntry(
            seq=head.seq + 1,
            created_at=timezone.now(),
            actor=actor_label(actor)[:200],
            action=action,
            target=target_label(target)[:200],
            detail=_canonical(detail),
            prev_hash=head.entry_hash,
        )
        entry.entry_hash = digest(entry)
        entry.save(force_insert=True)
        head.seq = entry.seq
        head.entry_hash = entry.entry_hash
        head.save(update_fields=["seq", "entry_hash"])
    return entry


@dataclass(frozen=True)
class Verification:
    """The result of walking the chain: ``ok``, how many entries were checked, and where and
    why it breaks (``broken_seq`` is the first entry found wrong, None when intact)."""

    ok: bool
    entries: int
    broken_seq: int | None = None
    reason: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.entries} entries"
        return f"audit chain broken at entry #{self.broken_seq}: {self.reason}"


def verify() -> Verification:
    """Check every entry's hash and link, and that the chain ends where the head says."""
    expected_seq = 1
    expected_prev = GENESIS_HASH
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=2000):
        if entry.seq != expected_seq:
            return Verification(
                False,
                expected_seq - 1,
                expected_seq,
                f"entry #{expected_seq} is missing (the next entry present is #{entry.seq}): "
                "entries were deleted",
            )
        if entry.prev_hash != expected_prev:
            return Verification(
                False,
                expected_seq - 1,
                entry.seq,
                f"it does not link to entry #{entry.seq - 1}: an earlier entry was altered "
                "and re-hashed, or replaced",
            )
        if digest(entry) != entry.entry_hash:
            return Verification(
                False,
                expected_seq - 1,
                entry.seq,
                f"its content does not match its hash: entry #{entry.seq} was edited",
            )
        expected_prev = entry.entry_hash
        expected_seq += 1
    count = expected_seq - 1
    head = ChainHead.objects.filter(pk=HEAD_ID).first()
    head_seq, head_hash = (head.seq, head.entry_hash) if head else (0, GENESIS_HASH)
    if head_seq != count or head_hash != expected_prev:
        return Verification(
            False,
            count,
            count + 1 if head_seq > count else head_seq,
            f"the chain ends at entry #{count} but the head records #{head_seq}: "
            "the newest entries were deleted or the head was altered",
        )
    return Verification(True, count)


def entries(since_seq: int = 0) -> Iterator[dict[str, Any]]:
    """Entries after ``since_seq`` as plain dicts (``detail`` parsed), oldest first."""
    for entry in (
        AuditEntry.objects.filter(seq__gt=since_seq).order_by("seq").iterator(chunk_size=2000)
    ):
        yield {
            "seq": entry.seq,
            "created_at": _timestamp(entry.created_at),
            "actor": entry.actor,
            "action": entry.action,
            "target": entry.target,
            "detail": json.loads(entry.detail),
            "prev_hash": entry.prev_hash,
            "entry_hash": entry.entry_hash,
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
