"""Clients: search, register, read, change. Every read and search is audited by the service."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from cryoderm.clinic.api.auth import principal
from cryoderm.clinic.api.errors import ERRORS
from cryoderm.clinic.api.fields import Body, Email, Id, Line, Name, Note, Phone
from cryoderm.clinic.records.services import clients as client_service

router = Router(tags=["clients"])

Sex = Literal["female", "male", "other", "unknown"]
Fitzpatrick = Annotated[int, Field(ge=1, le=6, description="Fitzpatrick skin phototype I-VI")]


class ClientIn(Body):
    given_name: Name
    family_name: Name
    date_of_birth: dt.date
    sex: Sex = "unknown"
    email: Email = ""
    phone: Phone = ""
    fitzpatrick_type: Fitzpatrick | None = None
    notes: Note = ""
    confirm_new_person: bool = Field(
        False, description="register although the client looks already registered (409)"
    )


class ClientPatch(Body):
    reason: Note = Field(min_length=1, description="why the record is corrected (kept)")
    confirm_new_person: bool = False
    given_name: Name | None = None
    family_name: Name | None = None
    date_of_birth: dt.date | None = None
    sex: Sex | None = None
    email: Email | None = None
    phone: Phone | None = None
    fitzpatrick_type: Fitzpatrick | None = None
    notes: Note | None = None
    is_archived: bool | None = None


class ClientOut(Schema):
    id: int
    given_name: str
    family_name: str
    date_of_birth: dt.date
    sex: str
    email: str
    phone: str
    fitzpatrick_type: int | None
    notes: str
    is_archived: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class ClientDetailOut(ClientOut):
    possible_duplicates: list[int] = Field(
        description="ids of registered clients that may be the same person"
    )

    @staticmethod
    def resolve_possible_duplicates(obj: Any) -> list[int]:
        return [other.pk for other in client_service.possible_duplicates(obj)]


class SearchQuery(Schema):
    q: Line = Field(
        "", description="words matching the start of a name or e-mail, or part of a phone"
    )
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=1_000_000)


#: A search answer's columns: ClientOut's fields, in its order.
SEARCH_FIELDS = tuple(ClientOut.model_fields)


@router.get("", response={200: list[ClientOut], **ERRORS}, summary="Search clients")
def search(request: HttpRequest, filters: Query[SearchQuery]) -> Any:
    caller = principal(request)
    caller.require("client.view")
    rows = client_service.search_values(
        caller.audit_actor, SEARCH_FIELDS, filters.q, limit=filters.limit, offset=filters.offset
    )
    # Rendered by the API's renderer without validating each client against ClientOut, which
    # was a third of a 50-client search's CPU: the rows are ClientOut's fields, read from the
    # model's columns of those types (test_api_clients compares them with GET /clients/{id},
    # which is validated). The response= declaration above still documents the answer.
    from cryoderm.clinic.api.app import api  # built from this module: imported once built

    return api.create_response(request, rows, status=200)


@router.post("", response={201: ClientOut, **ERRORS}, summary="Register a client")
def create(request: HttpRequest, payload: ClientIn) -> Any:
    caller = principal(request)
    caller.require("client.create")
    return Status(201, client_service.create(caller.audit_actor, **payload.dict()))


@router.get("/{client_id}", response={200: ClientDetailOut, **ERRORS}, summary="Read a client")
def get(request: HttpRequest, client_id: Id) -> Any:
    caller = principal(request)
    caller.require("client.view")
    return client_service.get(caller.audit_actor, client_id)


@router.patch(
    "/{client_id}",
    response={200: ClientOut, **ERRORS},
    summary="Correct a client's record (the fields sent, with a reason; earlier values kept)",
)
def update(request: HttpRequest, client_id: Id, payload: ClientPatch) -> Any:
    caller = principal(request)
    caller.require("client.update")
    changes = payload.dict(exclude_unset=True)
    return client_service.update(
        caller.audit_actor,
        client_id,
        reason=changes.pop("reason"),
        confirm_new_person=changes.pop("confirm_new_person", False),
        **changes,
    )


class FhirQuery(Schema):
    version: Literal["R5", "R4B"] = Field("R5", description="FHIR version of the Bundle")


@router.get(
    "/{client_id}/fhir",
    response={200: dict[str, Any], **ERRORS},
    summary="Export a client's record as a FHIR Bundle (collection), streamed",
    openapi_extra={
        "responses": {
            200: {
                "description": "The Bundle (JSON), written resource by resource",
                "content": {"application/fhir+json": {"schema": {"type": "object"}}},
            }
        }
    },
)
def export_fhir(request: HttpRequest, client_id: Id, query: Query[FhirQuery]) -> Any:
    caller = principal(request)
    caller.require("client.export_fhir")
    from cryoderm.clinic.fhir import export_client
    from cryoderm.clinic.server.streams import streaming

    export = export_client(caller.audit_actor, client_id, query.version)
    return streaming(request, export, "application/fhir+json")
