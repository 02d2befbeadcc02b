"""Turning a planning form into a planned session: the client's screening verdict and its
sign-offs feed the planner; the plan is stored on a new planned session."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from cryoderm.clinic.records.errors import InvalidRecord
from cryoderm.clinic.records.models import Client, ScreeningResponse, TreatmentSession
from cryoderm.clinic.records.services import sessions as session_service
from cryoderm.clinical.planner import PlanRequest, plan
from cryoderm.clinical.screening import Verdict


def _latest_screening(client: Client, modality: str) -> ScreeningResponse | None:
    return (
        client.screenings.filter(modality__in=(modality, ""))
        .order_by("-screened_at", "-id")
        .first()
    )


def plan_session(
    actor: Any, client: Client, *, goals: list[str], zones: list[str], modality: str, device_id: int
) -> TreatmentSession:
    """Plan with the client's newest screening for ``modality``; store it on a new session.

    Raises the planner's InvalidAnswer / TreatmentNotPermitted, or the records' errors."""
    practitioner = getattr(actor, "practitioner", None)
    if practitioner is None:
        raise InvalidRecord(
            "device", f"{actor} is not a practitioner of the clinic and cannot plan"
        )
    screening = _latest_screening(client, modality)
    verdict = Verdict.from_json_dict(screening.verdict) if screening is not None else None
    signed_off = screening is not None and all(
        screening.signoffs.filter(rule_id=rule).exists() for rule in screening.rule_ids("refer")
    )
    age = None
    if client.date_of_birth:
        today = timezone.localdate()
        born = client.date_of_birth
        age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    result = plan(
        PlanRequest(
            goals=tuple(goals),
            zones=tuple(zones),
            modality=modality,
            sex=client.sex if client.sex in ("female", "male") else None,  # type: ignore[arg-type]
            # The tissue tables are refined for ages 18-90 only; outside, the planner's defaults.
            age_years=float(age) if age is not None and 18 <= age <= 90 else None,
            verdict=verdict,
            referral_signed_off=signed_off,
        )
    )
    return session_service.create(
        actor,
        client_id=client.pk,
        practitioner_id=practitioner.pk,
        device_id=device_id,
        zones=zones,
        plan=result.to_json_dict(),
    )
