"""Django's ``flush``, able to empty the append-only audit log.

Emptying the whole database (as the test runner does between transactional tests) is the
one legitimate way to remove audit entries; the triggers refuse everything else. The guard
is suspended for this command's transaction only. The chain starts again from nothing (every lane at its genesis, numbering from 1), so
its checkpoint file is set aside (renamed, kept) and a new one begins."""

from __future__ import annotations

from typing import Any

from django.core.management.commands.flush import Command as FlushCommand
from django.db import connections, transaction

from cryoderm.clinic.audit import checkpoints
from cryoderm.clinic.audit.log import ensure_lanes


class Command(FlushCommand):
    help = FlushCommand.help + " The audit log's append-only guard is lifted for this flush only."

    def handle(self, **options: Any) -> None:
        database = options["database"]
        with transaction.atomic(using=database), connections[database].cursor() as cursor:
            cursor.execute("INSERT INTO audit_guardsuspension (id, reason) VALUES (1, 'flush')")
            super().handle(**options)
            if connections[database].vendor == "postgresql":
                # Numbering starts again with the chain (the sequence is not a table).
                cursor.execute("ALTER SEQUENCE IF EXISTS audit_entry_seq RESTART WITH 1")
            cursor.execute("DELETE FROM audit_guardsuspension")
        ensure_lanes(database)
        checkpoints.archive("flushed")
