"""``POST /api/plans``: the planner (cryoderm.clinical.planner) for a client's screening.

The verdict comes from a stored screening; a ``refer`` verdict counts as signed off when
every refer finding has a sign-off. With ``session_id`` the plan is stored on that planned
session."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from cryoderm.clinic import audit
from cryoderm.clinic.api.auth import principal
from cryoderm.clinic.api.errors import ERRORS
from cryoderm.clinic.api.fields import Id, Label
from cryoderm.clinic.records.models import ScreeningResponse
from cryoderm.clinic.records.services import _common
from cryoderm.clinic.records.services import sessions as session_service
from cryoderm.clinical.planner import PlanRequest, plan
from cryoderm.clinical.screening import Verdict

router = Router(tags=["plans"])


class PlanIn(Schema):
    goals: list[Label] = Field(min_length=1, max_length=10)
    zones: list[Label] = Field(min_length=1, max_length=20)
    modality: Literal["cold-air", "ln2-vapour", "contact"]
    screening_id: Id | None = Field(None, description="the client's screening; null: unscreened")
    sex: Literal["female", "male"] | None = None
    age_years: float | None = Field(None, ge=18, le=90, allow_inf_nan=False)
    session_id: Id | None = Field(None, description="store the plan on this planned session")


def _verdict(actor: Any, screening_id: int | None) -> tuple[Verdict | None, bool]:
    """The stored verdict (its read audited) and whether every refer finding is signed off."""
    if screening_id is None:
        return None, False
    screening = _common.load(ScreeningResponse, screening_id)
    refer = set(screening.rule_ids("refer"))
    signed = set(screening.signoffs.values_list("rule_id", flat=True))
    audit.record(actor, "screening.read", screening, {"client": screening.client_id, "for": "plan"})
    return Verdict.from_json_dict(screening.verdict), refer <= signed


@router.post("", response={200: dict[str, Any], **ERRORS}, summary="Plan a treatment")
def create(request: HttpRequest, payload: PlanIn) -> Any:
    caller = principal(request)
    caller.require("plan.create")
    verdict, signed_off = _verdict(caller.audit_actor, payload.screening_id)
    result = plan(
        PlanRequest(
            goals=tuple(payload.goals),
            zones=tuple(payload.zones),
            modality=payload.modality,
            sex=payload.sex,
            age_years=payload.age_years,
            verdict=verdict,
            referral_signed_off=signed_off,
        )
    ).to_json_dict(curves=False)
    if payload.session_id is not None:
        session_service.attach_plan(caller.user, payload.session_id, result)
    return result
