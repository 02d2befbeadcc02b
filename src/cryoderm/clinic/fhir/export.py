"""Export one client's record as a FHIR Bundle, audited: the one operation the CLI and the API
call.

The export never holds a write transaction: its audit entry is written first, in a short
transaction of its own, and the record is then read in autocommit (SQLite's WAL readers and
PostgreSQL's take no lock that a writer waits for) and written out piece by piece. A client
with tens of thousands of readings therefore takes time to export but blocks nobody: on
SQLite, one transaction around the whole export used to hold the database's write lock for
its duration, and every other write, a session stop included, failed meanwhile.

Building the resources is CPU-bound (fhir.resources validates each): the server therefore
runs it in a worker process of its own at a low priority
(:mod:`cryoderm.clinic.server.export_worker`), so that an
export does not compete with the clinic's requests for the web process's interpreter lock.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import transaction

from cryoderm.clinic import audit
from cryoderm.clinic.records.models import Client, SkinReading
from cryoderm.clinic.records.services._common import load
from cryoderm.errors import UserInputError

from .resources import VERSIONS, Version, bundle_json


@dataclass(frozen=True)
class Export:
    """An audited export, ready to be written: in this process (:meth:`chunks`) or by the
    worker process (:meth:`worker_command`)."""

    client: Client
    version: Version

    def chunks(self) -> Iterator[bytes]:
        return bundle_json(self.client, self.version)

    def worker_command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "cryoderm.clinic.server.export_worker",
            str(self.client.pk),
            self.version,
        ]


def export_client(actor: object, client_id: object, version: Version = "R5") -> Export:
    """Check the request and record the export in the audit log (its own short transaction);
    the Bundle is then written by the caller. Raises the records layer's not-found error for
    an unknown client, before anything is audited."""
    if version not in VERSIONS:
        raise UserInputError(f"version = {version!r}: one of {', '.join(VERSIONS)}")
    client = load(Client, client_id)
    readings = SkinReading.objects.filter(session__client=client).count()
    with transaction.atomic():
        audit.record(
            actor, "client.export_fhir", client, {"version": version, "readings": readings}
        )
    return Export(client, version)
