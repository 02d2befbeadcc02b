"""Audit entries and the chain head.

Each entry's ``entry_hash`` is SHA-256 over its own canonical content and the previous
entry's hash, so editing any entry breaks its hash and deleting one breaks the link of the
next. Deleting the *last* entries leaves a shorter but valid chain; :class:`ChainHead` keeps
the sequence number and hash of the newest entry so that this is detected too. Appends lock
the head row, which also serialises them (``seq`` has no gaps, unlike an autoincrement id
whose values a rolled-back transaction may burn)."""

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
    entry_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]
        verbose_name_plural = "audit entries"
        # Serves "what happened to this record" (the FHIR AuditEvent export and the UI).
        indexes = [models.Index(fields=["target", "seq"], name="audit_target_idx")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.actor} {self.action} {self.target}"


class ChainHead(models.Model):
    """The newest entry's number and hash (one row, id 1)."""

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
