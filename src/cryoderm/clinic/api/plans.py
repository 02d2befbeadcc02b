"""``POST /api/plans``: a treatment plan from the records' planning service.

With ``session_id`` the planned session is planned again and the plan stored on it (the
zones and modality, if sent, must be the session's); with ``client_id`` the plan is only
shown. Either way the screening is the one the gates will rely on and the client's age and
sex come from the record: the caller cannot choose them."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router
from pydantic import Field, model_validator

from cryoderm.clinic.api.auth import principal
from cryoderm.clinic.api.errors import ERRORS
from cryoderm.clinic.api.fields import Body, Id, Label
from cryoderm.clinic.records.services import planning

router = Router(tags=["plans"])


class PlanIn(Body):
    # A field this API no longer takes (screening_id, age_years, sex: the record decides) is
    # refused by name (Body) rather than silently ignored.
    goals: list[Label] = Field(min_length=1, max_length=10)
    zones: list[Label] = Field(min_length=1, max_length=20)
    modality: Literal["cold-air", "ln2-vapour", "contact"]
    client_id: Id | None = Field(None, description="plan for this client (nothing stored)")
    session_id: Id | None = Field(
        None, description="plan this planned session again and store the plan on it"
    )

    @model_validator(mode="after")
    def one_target(self) -> PlanIn:
        if (self.client_id is None) == (self.session_id is None):
            raise ValueError("send client_id (to see a plan) or session_id (to store one)")
        return self


@router.post("", response={200: dict[str, Any], **ERRORS}, summary="Plan a treatment")
def create(request: HttpRequest, payload: PlanIn) -> Any:
    caller = principal(request)
    caller.require("plan.create")
    if payload.session_id is not None:
        session = planning.replan(
            caller.user,
            payload.session_id,
            goals=payload.goals,
            zones=payload.zones,
            modality=payload.modality,
        )
        return session.plan
    made = planning.preview(
        caller.user,
        payload.client_id,
        goals=payload.goals,
        zones=payload.zones,
        modality=payload.modality,
    )
    return made.to_json_dict(curves=False)
