"""Export one client's record as a FHIR Bundle, audited: the one operation the CLI and the API call."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from cryoderm.clinic import audit
from cryoderm.clinic.records.models import Client
from cryoderm.clinic.records.services._common import load
from cryoderm.errors import UserInputError

from .resources import VERSIONS, Version, client_bundle


@transaction.atomic
def export_client(actor: object, client_id: object, version: Version = "R5") -> Any:
    """The client's Bundle (validated by fhir.resources); the export is recorded in the audit log
    in the same transaction. Raises the records layer's not-found error for an unknown client."""
    if version not in VERSIONS:
        raise UserInputError(f"version = {version!r}: one of {', '.join(VERSIONS)}")
    client = load(Client, client_id)
    bundle = client_bundle(client, version)
    audit.record(
        actor,
        "client.export_fhir",
        client,
        {"version": version, "resources": len(bundle.entry or [])},
    )
    return bundle
