"""``GET /api/audit/export``: the audit log as entries with their hashes (medical director).

The export is itself audited before the entries are read, so it appears in the next export.
Check the chain with ``cryoderm audit verify``; each entry's ``entry_hash`` and
``prev_hash`` let a recipient verify the exported slice."""

from __future__ import annotations

import io
import json
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from cryoderm.clinic import audit
from cryoderm.clinic.api.auth import principal
from cryoderm.clinic.api.errors import ERRORS

router = Router(tags=["audit"])


class ExportQuery(Schema):
    since_seq: int = Field(0, ge=0, le=2**63 - 1, description="entries after this number")


class EntryOut(Schema):
    seq: int
    created_at: str
    actor: str
    action: str
    target: str
    detail: dict[str, Any]
    prev_hash: str
    entry_hash: str


class ExportOut(Schema):
    count: int
    entries: list[EntryOut]


@router.get("/export", response={200: ExportOut, **ERRORS}, summary="Export the audit log")
def export(request: HttpRequest, filters: Query[ExportQuery]) -> Any:
    caller = principal(request)
    caller.require("audit.export")
    lines = io.StringIO()
    count = audit.export(lines, actor=caller.audit_actor, since_seq=filters.since_seq)
    entries = [json.loads(line) for line in lines.getvalue().splitlines()]
    return ExportOut(count=count, entries=entries)
