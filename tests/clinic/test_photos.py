"""Photographs end to end, attacked as a hostile practitioner would: a forged "photo" (HTML
with a JPEG prefix) is refused, a real image is decoded and re-encoded (whatever rode along
in it is gone, EXIF GPS included), stored under a generated name and served as a JPEG that a
browser will neither sniff nor run; a decompression bomb is refused before it is decoded;
every view is audited; a file changed on disk is not served.

Personas: alice (practitioner) uploads, mona (medical director) looks."""

from __future__ import annotations

import io
import os
from typing import Any

import pytest
from django.test import Client as Browser
from django.urls import reverse
from PIL import Image

from clinic import personas
from clinic.factories import SIGNATURE
from cryoderm.clinic.accounts.permissions import MEDICAL_DIRECTOR, grant_role
from cryoderm.clinic.audit.models import AuditEntry
from cryoderm.clinic.records.errors import InvalidRecord
from cryoderm.clinic.records.models import Photo
from cryoderm.clinic.records.services import consent as consent_service
from cryoderm.clinic.records.services import photos as photo_service
from web import world

pytestmark = pytest.mark.django_db

#: What the reported attack uploaded: a page that records a passing calibration with the
#: session of whoever opens it, behind the first bytes of a JPEG.
FORGED = (
    b"\xff\xd8\xff\xe0<html><body><script>"
    b"fetch('/devices/1/',{method:'POST',credentials:'include',body:'passed=on'})"
    b"</script></body></html>"
)


def jpeg(size: tuple[int, int] = (64, 48), **save: Any) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 150, 120)).save(out, "JPEG", **save)
    return out.getvalue()


def signed_in(user: Any) -> Browser:
    browser = Browser()
    browser.force_login(user)
    return browser


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def mona(db: None) -> Any:
    user = personas.make_user("mona", "Mona", "Marsh")
    grant_role(user, MEDICAL_DIRECTOR)
    return user


@pytest.fixture
def client_with_consent(alice: Any) -> Any:
    world.consent_texts()
    client = world.client()
    consent_service.sign(
        alice, client.pk, "photos", signer_name="Ada Lovelace", signature=SIGNATURE
    )
    return client


def upload(browser: Browser, client_pk: int, content: bytes, name: str = "front.jpg") -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return browser.post(
        reverse("web:outcome_new", args=[client_pk]),
        {
            "add_photo": "1",
            "p-image": SimpleUploadedFile(name, content, content_type="image/jpeg"),
            "p-view": "front",
            "p-phase": "before",
            "p-use": "clinical",
        },
    )


def test_a_forged_photo_is_refused_and_nothing_is_stored(alice, mona, client_with_consent) -> None:
    response = upload(signed_in(alice), client_with_consent.pk, FORGED, name="calibration.html")
    assert response.status_code == 200
    (message,) = response.context["photo_form"].errors["image"]
    assert "not a JPEG or PNG image" in message
    assert not Photo.objects.exists()


def test_a_real_photo_is_re_encoded_and_served_as_an_inert_jpeg(
    alice, mona, client_with_consent
) -> None:
    # A valid JPEG carrying a script in a comment segment and after its end marker.
    carrier = jpeg(comment=b"<script>alert(1)</script>") + b"<html><script>alert(2)</script>"
    response = upload(signed_in(alice), client_with_consent.pk, carrier, name="x.html")
    assert response.status_code == 302, response.context and response.context["photo_form"].errors
    photo = Photo.objects.get()
    assert photo.image.name.endswith(".jpg") and "x" not in os.path.basename(photo.image.name)
    served = signed_in(mona).get(reverse("web:photo", args=[photo.pk]))
    assert served.status_code == 200
    body = b"".join(served.streaming_content) if served.streaming else served.content
    assert body.startswith(b"\xff\xd8\xff") and b"<script" not in body
    assert served["Content-Type"] == "image/jpeg"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert served["Content-Security-Policy"].startswith("sandbox")
    assert served["Content-Disposition"].startswith("inline; filename=")
    assert "no-store" in served["Cache-Control"]
    with Image.open(io.BytesIO(body)) as decoded:
        assert decoded.format == "JPEG" and decoded.size == (64, 48)


def test_metadata_and_gps_position_are_stripped(alice, client_with_consent) -> None:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)}  # GPS IFD
    photo = photo_service.add(
        alice,
        client_with_consent.pk,
        image=jpeg(exif=exif.tobytes()),
        view="front",
        phase="before",
    )
    with photo.image.open("rb") as stored, Image.open(stored) as decoded:
        assert dict(decoded.getexif()) == {}
        assert "exif" not in decoded.info and "comment" not in decoded.info


def test_a_png_is_stored_as_a_jpeg_without_its_alpha(alice, client_with_consent) -> None:
    out = io.BytesIO()
    Image.new("RGBA", (10, 10), (0, 0, 0, 0)).save(out, "PNG")
    photo = photo_service.add(
        alice, client_with_consent.pk, image=out.getvalue(), view="front", phase="after"
    )
    with photo.image.open("rb") as stored, Image.open(stored) as decoded:
        assert (decoded.format, decoded.mode) == ("JPEG", "RGB")


def test_a_decompression_bomb_is_refused_before_it_is_decoded(alice, client_with_consent) -> None:
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(out, "PNG")  # 100 Mpx in a few kB
    assert len(out.getvalue()) < 100_000
    with pytest.raises(InvalidRecord, match=r"image: 10000 x 10000 pixels .* at most"):
        photo_service.add(
            alice, client_with_consent.pk, image=out.getvalue(), view="front", phase="before"
        )
    assert not Photo.objects.exists()


@pytest.mark.parametrize(
    "content",
    [b"", b"%PDF-1.7 not a photo", FORGED, jpeg()[:200], b"GIF89a" + jpeg()],
    ids=["empty", "pdf", "forged", "truncated", "gif-prefix"],
)
def test_anything_that_does_not_decode_as_a_photo_is_refused(
    alice, client_with_consent, content
) -> None:
    with pytest.raises(InvalidRecord, match=r"^image: "):
        photo_service.add(
            alice, client_with_consent.pk, image=content, view="front", phase="before"
        )
    assert not Photo.objects.exists()


def test_every_view_of_a_photo_is_audited(alice, mona, client_with_consent) -> None:
    photo = photo_service.add(
        alice, client_with_consent.pk, image=jpeg(), view="front", phase="before"
    )
    browser = signed_in(mona)
    for _ in range(2):
        assert browser.get(reverse("web:photo", args=[photo.pk])).status_code == 200
    views = AuditEntry.objects.filter(action="photo.view")
    assert views.count() == 2
    assert {entry.actor for entry in views} == {f"user:{mona.pk}:mona"}
    assert views.first().target == f"records.client:{client_with_consent.pk}"


def test_a_photo_changed_on_disk_is_not_served(alice, mona, client_with_consent) -> None:
    photo = photo_service.add(
        alice, client_with_consent.pk, image=jpeg(), view="front", phase="before"
    )
    with open(photo.image.path, "wb") as disk:
        disk.write(FORGED)
    response = signed_in(mona).get(reverse("web:photo", args=[photo.pk]))
    assert response.status_code == 409
    assert b"<script" not in response.content


def test_front_desk_may_not_see_photos_and_a_withdrawn_consent_hides_them(
    alice, bob, client_with_consent
) -> None:
    photo = photo_service.add(
        alice, client_with_consent.pk, image=jpeg(), view="front", phase="before"
    )
    assert signed_in(bob).get(reverse("web:photo", args=[photo.pk])).status_code == 403
    consent_service.withdraw(
        alice, photo.consent_id, reason="the client changed her mind", confirmed=True
    )
    assert signed_in(alice).get(reverse("web:photo", args=[photo.pk])).status_code == 404
    assert not photo_service.viewable(Photo.objects.get())


def test_the_stored_file_is_private_to_the_clinic(alice, client_with_consent) -> None:
    photo = photo_service.add(
        alice, client_with_consent.pk, image=jpeg(), view="front", phase="before"
    )
    assert os.stat(photo.image.path).st_mode & 0o777 == 0o600
    assert os.stat(os.path.dirname(photo.image.path)).st_mode & 0o777 == 0o700


def test_photos_need_the_photo_consent_and_marketing_use_the_marketing_one(alice) -> None:
    from cryoderm.clinic.records.errors import Conflict

    from . import factories

    client = factories.make_client(alice)
    factories.publish_texts()
    photo = {"image": jpeg(), "view": "front", "phase": "before"}
    with pytest.raises(Conflict, match="clinical photographs"):
        photo_service.add(alice, client, **photo)
    factories.sign_consent(alice, client, "photos")
    stored = photo_service.add(alice, client, **photo)
    assert stored.use == "clinical" and len(stored.sha256) == 64
    with pytest.raises(Conflict, match="marketing"):
        photo_service.add(alice, client, **photo, use="marketing")
    factories.sign_consent(alice, client, "marketing")
    assert photo_service.add(alice, client, **photo, use="marketing").use == "marketing"


def test_only_clinical_roles_may_add_photos(bob, client_with_consent) -> None:
    from cryoderm.clinic.accounts.errors import PermissionRefused

    with pytest.raises(PermissionRefused):
        photo_service.add(bob, client_with_consent.pk, image=jpeg(), view="front", phase="before")
