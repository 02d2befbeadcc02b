"""Reporting adverse events, graded for cold injury."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from cryoderm.clinic import audit

from ..errors import InvalidRecord
from ..models import AdverseEvent, Client, TreatmentSession
from ._common import authorize, load, now_or, require_text, require_zone, validated


@transaction.atomic
def report(
    actor: Any,
    client_id: object,
    *,
    description: str,
    cold_injury_grade: str,
    seriousness: str,
    zone: str = "",
    action_taken: str = "",
    session_id: object | None = None,
    at: dt.datetime | None = None,
) -> AdverseEvent:
    authorize(actor, "outcome.record")
    client = load(Client, client_id)
    session = load(TreatmentSession, session_id) if session_id is not None else None
    if session is not None and session.client_id != client.pk:
        raise InvalidRecord(
            "session", f"session {session.pk} is not a session of client {client.pk}"
        )
    event = validated(
        AdverseEvent(
            client=client,
            session=session,
            occurred_at=now_or(at),
            zone=require_zone("zone", zone) if zone else "",
            description=require_text("description", description),
            cold_injury_grade=cold_injury_grade,
            seriousness=seriousness,
            action_taken=action_taken,
            reported_by=actor,
        )
    )
    event.save()
    audit.record(
        actor,
        "adverse_event.report",
        client,
        {"event": event.pk, "grade": cold_injury_grade, "seriousness": seriousness},
    )
    return event
