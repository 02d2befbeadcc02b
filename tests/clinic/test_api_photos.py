"""Photographs through the API: the same service as the pages, so the same refusals (a forged
file, SVG, an empty file, a decompression bomb, a session of another client), the same
inert serving, and every listing and view audited. Every role and a device token tried.

Personas: alice (practitioner) uploads, mona (medical director) looks, bob (front desk) may
do neither."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import Client as Browser
from PIL import Image

from clinic import factories
from clinic.api_helpers import make_device
from clinic.test_photos import FORGED, jpeg
from clinic.test_photos import client_with_consent as client_with_consent
from clinic.test_photos import media as media
from clinic.test_photos import mona as mona
from cryoderm.clinic.accounts import tokens
from cryoderm.clinic.audit.models import AuditEntry
from cryoderm.clinic.records.models import Photo
from cryoderm.clinic.records.services import consent as consent_service

pytestmark = pytest.mark.django_db

SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
    b"<script>alert(2)</script></svg>"
)


def browser_of(user: Any = None, token: str | None = None) -> Browser:
    browser = Browser(headers={"Authorization": f"Bearer {token}"} if token else {})
    if user is not None:
        browser.force_login(user)
    return browser


def upload(browser: Browser, client_pk: int, content: bytes, **fields: Any) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    body = {
        "image": SimpleUploadedFile("photo.jpg", content, content_type="image/jpeg"),
        "view": "front",
        "phase": "before",
        **fields,
    }
    return browser.post(f"/api/clients/{client_pk}/photos", body)


def test_a_photo_uploaded_through_the_api_is_re_encoded_and_served_inert(
    alice, mona, client_with_consent
) -> None:
    carrier = jpeg(comment=b"<script>alert(1)</script>") + b"<html><script>alert(2)</script>"
    made = upload(browser_of(alice), client_with_consent.pk, carrier)
    assert made.status_code == 201, made.json()
    photo = Photo.objects.get(pk=made.json()["id"])
    assert made.json()["sha256"] == photo.sha256
    served = browser_of(mona).get(f"/api/photos/{photo.pk}")
    assert served.status_code == 200
    assert served["Content-Type"] == "image/jpeg"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert served["Content-Security-Policy"].startswith("sandbox")
    assert "no-store" in served["Cache-Control"]
    assert b"<script" not in served.content
    with Image.open(io.BytesIO(served.content)) as decoded:
        assert decoded.format == "JPEG"
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    assert "outcome.photo" in actions and "photo.view" in actions
    listed = browser_of(mona).get(f"/api/clients/{client_with_consent.pk}/photos")
    assert [p["id"] for p in listed.json()] == [photo.pk]
    assert AuditEntry.objects.filter(action="photo.list").exists()


def huge_exif_jpeg() -> bytes:
    image = Image.new("RGB", (32, 32), (10, 20, 30))
    exif = Image.Exif()
    exif[0x010E] = "A" * 60_000  # ImageDescription: most of a 64 kB APP1 segment
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def bomb() -> bytes:
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (FORGED, "not a JPEG or PNG image"),
        (SVG, "not a JPEG or PNG image"),
        (b"", "empty"),
        (bomb(), "megapixels"),
        (jpeg()[:200], "not a JPEG or PNG image"),
    ],
    ids=["html-jpeg-polyglot", "svg", "zero-byte", "decompression-bomb", "truncated"],
)
def test_forged_files_are_refused_naming_the_image(
    alice, client_with_consent, content, words
) -> None:
    refused = upload(browser_of(alice), client_with_consent.pk, content)
    assert refused.status_code == 422, refused.json()
    assert refused.json()["field"] == "image"
    assert words in refused.json()["detail"]
    assert not Photo.objects.exists()


def test_a_huge_exif_block_is_not_carried_over(alice, mona, client_with_consent) -> None:
    made = upload(browser_of(alice), client_with_consent.pk, huge_exif_jpeg())
    assert made.status_code == 201, made.json()
    served = browser_of(mona).get(f"/api/photos/{made.json()['id']}")
    assert b"AAAAAAAA" not in served.content
    with Image.open(io.BytesIO(served.content)) as decoded:
        assert not decoded.getexif()


def test_a_photo_filed_under_another_clients_session_is_refused(alice, client_with_consent) -> None:
    elsewhere = factories.ready_session(alice)
    refused = upload(
        browser_of(alice), client_with_consent.pk, jpeg(), session_id=str(elsewhere.pk)
    )
    assert refused.status_code == 422, refused.json()
    assert refused.json()["field"] == "session"
    assert not Photo.objects.exists()


def test_front_desk_a_device_token_and_strangers_may_neither_add_nor_see(
    alice, bob, mona, client_with_consent
) -> None:
    made = upload(browser_of(alice), client_with_consent.pk, jpeg())
    photo_id = made.json()["id"]
    device = make_device("SN-PHOTO")
    device_token = tokens.issue("camera", bob, device).plaintext
    for who, status in (
        (browser_of(bob), 403),
        (browser_of(token=device_token), 403),
        (browser_of(), 401),
    ):
        assert upload(who, client_with_consent.pk, jpeg()).status_code == status
        assert who.get(f"/api/photos/{photo_id}").status_code == status
        assert who.get(f"/api/clients/{client_with_consent.pk}/photos").status_code == status
    assert Photo.objects.count() == 1
    assert AuditEntry.objects.filter(action="photo.view").count() == 0


def test_a_withdrawn_photo_consent_hides_the_photo_from_the_api(
    alice, mona, client_with_consent
) -> None:
    photo_id = upload(browser_of(alice), client_with_consent.pk, jpeg()).json()["id"]
    given = consent_service.active(client_with_consent, "photos")
    consent_service.withdraw(alice, given.pk, reason="client asked", confirmed=True)
    refused = browser_of(mona).get(f"/api/photos/{photo_id}")
    assert refused.status_code == 409
    assert refused.json()["field"] == "consent"
    assert browser_of(mona).get(f"/api/clients/{client_with_consent.pk}/photos").json() == []
