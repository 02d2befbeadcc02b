"""Clinical photographs: taken under the client's consent, stored as pixels only, and
every look at one audited.

An upload is never trusted as bytes. It is decoded with Pillow (only JPEG and PNG are
accepted, and its pixel count is checked from the header before anything is decoded, so a
decompression bomb is refused cheaply), then re-encoded as a fresh baseline JPEG from the
decoded pixels alone: comments, EXIF (GPS position, camera serial), ICC profiles, anything
appended after the image, and anything a browser could take for HTML or script, are not
carried over. The file is stored under a generated name; the name the uploader gave is
never used. Its SHA-256 is kept in the record and checked each time the file is served, so
a file changed on disk is refused rather than shown.

The pages and the API call :func:`add` and :func:`open_for_view`; neither decides
anything itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import uuid
import warnings
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from PIL import Image, ImageOps, UnidentifiedImageError

from cryoderm.clinic import audit
from cryoderm.clinic.accounts import permissions

from ..errors import Conflict, InvalidRecord
from ..models import Client, ConsentScope, Photo, TreatmentSession
from . import consent as consent_service
from ._common import load, now_or, validated

#: assumption: a full-resolution photograph from a 45-megapixel camera at the highest JPEG
#: quality is about 20 MB; clinical photographs are taken at far less. A larger upload is
#: refused before it is decoded.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
#: assumption: the largest sensors of clinical cameras are about 45 Mpx (8192 x 5464); an
#: image with more pixels than 50 Mpx is not a face photograph and would cost 150 MB of
#: memory to decode (3 bytes per pixel), so it is refused from its header alone.
MAX_PIXELS = 50_000_000
#: assumption: JPEG quality 92 keeps skin texture and erythema visible at about a tenth of
#: the size of a lossless copy; the photographs are documentation, not measurements.
JPEG_QUALITY = 92
ACCEPTED_FORMATS = ("JPEG", "PNG")
#: What is served, whatever was uploaded.
CONTENT_TYPE = "image/jpeg"
SUFFIX = ".jpg"
#: The headers every adapter (page or API) serves a photograph with: a fixed image type the
#: browser may not sniff, a sandbox (opened on its own it runs no script and has no rights
#: on the clinic's origin), never cached, never embedded by another site.
SERVE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'",
    "Cache-Control": "private, no-store",
    "Cross-Origin-Resource-Policy": "same-origin",
}


@dataclass(frozen=True)
class PhotoFile:
    """A photograph's bytes as stored (always a JPEG) and a download name without PHI."""

    data: bytes
    content_type: str
    filename: str


def sanitise(data: bytes) -> bytes:
    """The photograph in ``data`` as a new JPEG made from its decoded pixels alone.

    Raises InvalidRecord (field ``image``) for anything that is not a whole JPEG or PNG
    image within the size and pixel limits."""
    if not data:
        raise InvalidRecord("image", "an empty file; choose a JPEG or PNG photograph")
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidRecord(
            "image",
            f"{len(data) / 1e6:.1f} MB is too large; at most {MAX_UPLOAD_BYTES / 1e6:.0f} MB",
        )
    try:
        with warnings.catch_warnings():
            # Pillow warns from 89 Mpx and refuses from 179 Mpx; ours is the stricter limit
            # below, checked from the header before anything is decoded.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise InvalidRecord(
                        "image",
                        f"{width} x {height} pixels is too large for a photograph; "
                        f"at most {MAX_PIXELS / 1e6:.0f} megapixels",
                    )
                image.load()
                upright = ImageOps.exif_transpose(image)
                pixels = upright.convert("RGB")
    except InvalidRecord:
        raise
    except Image.DecompressionBombError:
        raise InvalidRecord(
            "image",
            f"too many pixels for a photograph; at most {MAX_PIXELS / 1e6:.0f} megapixels",
        ) from None
    except UnidentifiedImageError:
        raise InvalidRecord(
            "image", "this is not a JPEG or PNG image; choose a photograph file"
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise InvalidRecord(
            "image", f"this is not a JPEG or PNG image that can be read ({error})"
        ) from None
    # The encoder falls back to the image's info for comments, EXIF, ICC and the like:
    # the new file gets none of them.
    pixels.info = {}
    out = io.BytesIO()
    pixels.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def viewable(photo: Photo) -> bool:
    """A photograph may be shown while the consent it was taken under stands."""
    return photo.consent.withdrawn_at is None and photo.consent.scope in (
        ConsentScope.PHOTOS,
        ConsentScope.MARKETING,
    )


def _session_of(client: Client, session_id: object | None) -> TreatmentSession | None:
    if session_id is None:
        return None
    session = load(TreatmentSession, session_id)
    if session.client_id != client.pk:
        raise InvalidRecord(
            "session", f"session {session.pk} is not a session of client {client.pk}"
        )
    return session


@transaction.atomic
def add(
    actor: Any,
    client_id: object,
    *,
    image: bytes,
    view: str,
    phase: str,
    use: str = Photo.Use.CLINICAL,
    session_id: object | None = None,
    at: dt.datetime | None = None,
) -> Photo:
    """Store a photograph under the client's photo consent (marketing use also needs the
    marketing consent). ``image`` is the uploaded file's bytes, as uploaded."""
    permissions.require(actor, "outcome.record")
    client = load(Client, client_id)
    stored = sanitise(image)
    photo_consent = consent_service.active(client, "photos")
    if photo_consent is None:
        raise Conflict("the client has not consented to clinical photographs", "consent")
    if use == Photo.Use.MARKETING and consent_service.active(client, "marketing") is None:
        raise Conflict("the client has not consented to marketing use of photographs", "use")
    photo = Photo(
        client=client,
        session=_session_of(client, session_id),
        taken_at=now_or(at),
        view=view,
        phase=phase,
        use=use,
        consent=photo_consent,
        sha256=hashlib.sha256(stored).hexdigest(),
        recorded_by=actor,
    )
    validated(photo, exclude=["image"])
    photo.image.save(uuid.uuid4().hex + SUFFIX, ContentFile(stored), save=False)
    try:
        photo.save()
        audit.record(
            actor,
            "outcome.photo",
            client,
            {
                "photo": photo.pk,
                "view": view,
                "use": use,
                "uploaded_sha256": hashlib.sha256(image).hexdigest(),
                "stored_sha256": photo.sha256,
            },
        )
    except BaseException:
        # No record, no file: a photograph is never kept without its record and audit entry.
        photo.image.delete(save=False)
        raise
    return photo


@transaction.atomic
def for_client(actor: Any, client_id: object) -> list[Photo]:
    """The client's photographs that may be shown (their consent stands), newest first;
    the listing is audited (``photo.list``), each image's view separately by
    :func:`open_for_view`."""
    permissions.require(actor, "client.view")
    permissions.require(actor, "outcome.view")
    client = load(Client, client_id)
    found = [
        photo
        for photo in Photo.objects.filter(client=client).select_related("consent")
        if viewable(photo)
    ]
    audit.record(actor, "photo.list", client, {"photos": [photo.pk for photo in found]})
    return found


@transaction.atomic
def open_for_view(actor: Any, photo_id: object) -> PhotoFile:
    """The photograph's bytes for ``actor`` to look at, audited as ``photo.view``.

    Refused with Conflict: field ``consent`` once its consent is withdrawn, field ``image``
    when the file on disk no longer matches the digest recorded when it was stored."""
    permissions.require(actor, "client.view")
    permissions.require(actor, "outcome.view")
    photo = load(Photo, photo_id)
    if not viewable(photo):
        raise Conflict("this photograph's consent was withdrawn; it may not be shown", "consent")
    with photo.image.open("rb") as handle:
        data = handle.read()
    if hashlib.sha256(data).hexdigest() != photo.sha256:
        raise Conflict(
            "this photograph's file does not match the one stored; it was changed outside "
            "the clinic and is not shown",
            "image",
        )
    audit.record(actor, "photo.view", photo.client, {"photo": photo.pk})
    return PhotoFile(data=data, content_type=CONTENT_TYPE, filename=f"photo-{photo.pk}{SUFFIX}")
