"""Clinical photographs: upload (multipart), list, and the image itself.

The photos service decides everything, as for the pages: the upload is decoded and
re-encoded (a forged or oversized file is refused naming ``image``), stored under the
client's photo consent, and every listing and every view is audited. The image is served
with the same fixed type and protective headers as the page's (``photos.SERVE_HEADERS``)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import Field

from cryoderm.clinic.api.auth import principal
from cryoderm.clinic.api.errors import ERRORS
from cryoderm.clinic.api.fields import Id
from cryoderm.clinic.records.services import photos as photo_service

#: Under /api/clients: a client's photographs.
of_client = Router(tags=["photos"])
#: Under /api/photos: one photograph's image.
router = Router(tags=["photos"])

View = Literal["front", "left-45", "right-45", "left-90", "right-90"]
Phase = Literal["before", "after", "follow-up"]
Use = Literal["clinical", "marketing"]


class PhotoOut(Schema):
    id: int
    client_id: int
    session_id: int | None
    taken_at: dt.datetime
    view: str
    phase: str
    use: str
    sha256: str = Field(description="SHA-256 of the stored (re-encoded) JPEG")


@of_client.post(
    "/{client_id}/photos",
    response={201: PhotoOut, **ERRORS},
    summary="Add a photograph (JPEG or PNG; decoded and stored as a new JPEG)",
)
def upload(
    request: HttpRequest,
    client_id: Id,
    image: File[UploadedFile],
    view: Form[View],
    phase: Form[Phase],
    use: Form[Use] = "clinical",
    session_id: Form[Id | None] = None,
) -> Any:
    caller = principal(request)
    caller.require("outcome.record")
    # One byte past the limit is enough for the service to refuse an oversized file.
    data = image.read(photo_service.MAX_UPLOAD_BYTES + 1)
    photo = photo_service.add(
        caller.user, client_id, image=data, view=view, phase=phase, use=use, session_id=session_id
    )
    return Status(201, photo)


@of_client.get(
    "/{client_id}/photos",
    response={200: list[PhotoOut], **ERRORS},
    summary="A client's photographs that may be shown (audited)",
)
def listing(request: HttpRequest, client_id: Id) -> Any:
    caller = principal(request)
    caller.require("outcome.view")
    return photo_service.for_client(caller.user, client_id)


@router.get(
    "/{photo_id}",
    response={200: None, **ERRORS},
    summary="The photograph as a JPEG (every view audited)",
    openapi_extra={
        "responses": {
            200: {
                "description": "The stored JPEG",
                "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def image_of(request: HttpRequest, photo_id: Id) -> Any:
    caller = principal(request)
    caller.require("outcome.view")
    photo = photo_service.open_for_view(caller.user, photo_id)
    response = HttpResponse(photo.data, content_type=photo.content_type)
    for header, value in photo_service.SERVE_HEADERS.items():
        response[header] = value
    response["Content-Disposition"] = f'inline; filename="{photo.filename}"'
    return response
