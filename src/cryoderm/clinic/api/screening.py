"""Screening: submit a client's answers for a verdict, list and read verdicts, and sign off
``refer`` findings (a reason and a second clinician). Reads are audited."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from cryoderm.clinic.api.auth import principal
from cryoderm.clinic.api.errors import ERRORS
from cryoderm.clinic.api.fields import Body, Id, JsonObject, Label, Note, Secret
from cryoderm.clinic.records.services import screening as screening_service

router = Router(tags=["screening"])


class ScreeningIn(Body):
    answers: JsonObject = Field(
        description="the screening answers (plain JSON or a FHIR QuestionnaireResponse, docs/screening.md)"
    )
    modality: Label | None = Field(None, description="screen for this modality; null: all")
    zones: list[Label] | None = Field(None, max_length=20, description="face zones; null: all")


class SignOffIn(Body):
    rule_id: Label
    reason: Note = Field(min_length=1)
    second_clinician: Label = Field(description="username of the second clinician")
    second_password: Secret = Field("", description="the second clinician's password")
    second_one_time_code: Secret = Field(
        "", description="or the second clinician's one-time code (instead of the password)"
    )


class SignOffOut(Schema):
    rule_id: str
    reason: str
    signed_by: str
    second_clinician: str
    signed_at: dt.datetime

    @staticmethod
    def resolve_signed_by(obj: Any) -> str:
        return str(obj.signed_by.get_username())

    @staticmethod
    def resolve_second_clinician(obj: Any) -> str:
        return str(obj.second_clinician.get_username())


class ScreeningOut(Schema):
    id: int
    client_id: int
    outcome: str
    policy: str
    modality: str
    screened_at: dt.datetime
    screened_by: str
    verdict: dict[str, Any]
    signoffs: list[SignOffOut]

    @staticmethod
    def resolve_screened_by(obj: Any) -> str:
        return str(obj.screened_by.get_username())

    @staticmethod
    def resolve_signoffs(obj: Any) -> list[Any]:
        return list(obj.signoffs.select_related("signed_by", "second_clinician"))


@router.post(
    "/clients/{client_id}/screenings",
    response={201: ScreeningOut, **ERRORS},
    summary="Screen a client: answers in, verdict out",
)
def submit(request: HttpRequest, client_id: Id, payload: ScreeningIn) -> Any:
    caller = principal(request)
    caller.require("screening.submit")
    created = screening_service.submit(
        caller.user, client_id, payload.answers, modality=payload.modality, zones=payload.zones
    )
    return Status(201, created)


@router.get(
    "/clients/{client_id}/screenings",
    response={200: list[ScreeningOut], **ERRORS},
    summary="A client's screenings, newest first",
)
def list_for_client(request: HttpRequest, client_id: Id) -> Any:
    caller = principal(request)
    caller.require("screening.view")
    return screening_service.for_client(caller.audit_actor, client_id)


@router.get("/screenings/{screening_id}", response={200: ScreeningOut, **ERRORS})
def get(request: HttpRequest, screening_id: Id) -> Any:
    caller = principal(request)
    caller.require("screening.view")
    return screening_service.get(caller.audit_actor, screening_id)


@router.post(
    "/screenings/{screening_id}/signoffs",
    response={201: SignOffOut, **ERRORS},
    summary="Sign off a refer finding (override): a reason, and a second clinician who "
    "confirms with their password or one-time code",
)
def sign_off(request: HttpRequest, screening_id: Id, payload: SignOffIn) -> Any:
    caller = principal(request)
    caller.require("override.sign")
    created = screening_service.sign_off(
        caller.user,
        screening_id,
        payload.rule_id,
        reason=payload.reason,
        second=screening_service.SecondClinician(
            payload.second_clinician,
            password=payload.second_password,
            one_time_code=payload.second_one_time_code,
        ),
        request=request,
    )
    return Status(201, created)
