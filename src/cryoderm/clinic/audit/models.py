"""Audit entries and the chain head.

Each entry's ``entry_hash`` is a seal: HMAC-SHA256, under the audit key ``key_id`` kept
outside the database, of its own canonical content and the previous entry's hash
(:mod:`.chain`). Editing any entry breaks its seal, and nobody without the key can make a
new one; deleting one breaks the link of the next. :class:`ChainHead` keeps the sequence
number and seal of the newest entry, and signed checkpoints outside the database
(:mod:`.checkpoints`) catch a deletion of the newest entries.

The log is :data:`.chain.LANES` such chains, its lanes, each with its own head row: an
append locks a free lane's head until its transaction ends, so appends at the same moment
go to different lanes instead of queueing on one row (:mod:`.chain`, :func:`.log.record`).
``seq`` orders entries across lanes and increases along each; it may skip numbers."""

from __future__ import annotations

from django.db import models

GENESIS_HASH = "0" * 64


class AuditEntry(models.Model):
    """One audited action. Never updated or deleted (the database refuses both)."""

    seq = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField()
    actor = models.CharField(
        max_length=200, help_text="user:<id>:<username>, device:<serial>, or system"
    )
    action = models.CharField(max_length=80, help_text="e.g. client.read, session.start")
    target = models.CharField(max_length=200, blank=True, help_text="<model>:<id>, or empty")
    detail = models.TextField(help_text="Canonical JSON (sorted keys); hashed as stored")
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, help_text="HMAC-SHA256 seal under key_id")
    key_id = models.CharField(max_length=32, help_text="which audit key sealed this entry")
    lane = models.SmallIntegerField(
        default=1, help_text="which of the log's chains it links into (its head's id)"
    )

    class Meta:
        ordering = ["seq"]
        verbose_name_plural = "audit entries"
        # Serves "what happened to this record" (the FHIR AuditEvent export and the UI).
        indexes = [
            models.Index(fields=["target", "seq"], name="audit_target_idx"),
            # Verification walks each lane in order.
            models.Index(fields=["lane", "seq"], name="audit_lane_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.actor} {self.action} {self.target}"


class ChainHead(models.Model):
    """A lane's newest entry's number and hash (one row per lane, id = the lane's number)."""

    seq = models.BigIntegerField(default=0)
    entry_hash = models.CharField(max_length=64, default=GENESIS_HASH)


class GuardSuspension(models.Model):
    """While a row exists here, the triggers let UPDATE/DELETE of entries through.

    Only the ``flush`` command (which empties the whole database, e.g. between tests)
    inserts one, for the duration of its own transaction. The table is created by the
    migration and unmanaged, so that flushing never empties it half-way through."""

    id = models.IntegerField(primary_key=True)
    reason = models.CharField(max_length=200)

    class Meta:
        managed = False
        db_table = "audit_guardsuspension"
