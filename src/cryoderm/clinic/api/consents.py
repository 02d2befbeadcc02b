"""A signed consent's withdrawal (the client's decision) and its voiding as entered in
error: each with the client's or the clinician's confirmation and a reason, by the clinical
roles (``consent.withdraw``). What was signed is never changed."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router
from pydantic import Field

from cryoderm.clinic.api.auth import principal
from cryoderm.clinic.api.errors import ERRORS
from cryoderm.clinic.api.fields import Body, Id, Note
from cryoderm.clinic.api.outcomes import ConsentOut
from cryoderm.clinic.records.services import consent as consent_service

router = Router(tags=["outcomes"])


class ClosingIn(Body):
    reason: Note = Field(min_length=1)
    confirm: bool = Field(description="must be true: the withdrawal (or the error) is confirmed")


@router.post(
    "/{consent_id}/withdraw",
    response={200: ConsentOut, **ERRORS},
    summary="Record that the client withdraws a consent (confirmed, with a reason)",
)
def withdraw(request: HttpRequest, consent_id: Id, payload: ClosingIn) -> Any:
    caller = principal(request)
    caller.require("consent.withdraw")
    return consent_service.withdraw(
        caller.user, consent_id, reason=payload.reason, confirmed=payload.confirm
    )


@router.post(
    "/{consent_id}/entered-in-error",
    response={200: ConsentOut, **ERRORS},
    summary="Void a consent recorded by mistake (confirmed, with a reason)",
)
def entered_in_error(request: HttpRequest, consent_id: Id, payload: ClosingIn) -> Any:
    caller = principal(request)
    caller.require("consent.withdraw")
    return consent_service.mark_entered_in_error(
        caller.user, consent_id, reason=payload.reason, confirmed=payload.confirm
    )
