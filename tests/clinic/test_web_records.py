"""Devices, staff, audit log, outcomes and photographs pages, through Django's test client.

Personas: alice (practitioner), bob (front desk), and mona, the medical director."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import Client as Browser
from django.urls import reverse
from django.utils import timezone

from clinic import personas
from clinic.factories import SIGNATURE
from cryoderm.clinic.accounts.permissions import MEDICAL_DIRECTOR, grant_role
from cryoderm.clinic.records.models import CalibrationRecord, MaintenanceRecord, OutcomeScore, Photo
from cryoderm.clinic.records.services import consent as consent_service
from web import world

pytestmark = pytest.mark.django_db


def signed_in(user: Any) -> Browser:
    browser = Browser()
    browser.force_login(user)
    return browser


@pytest.fixture
def mona(db: None) -> Any:
    user = personas.make_user("mona", "Mona", "Marsh")
    grant_role(user, MEDICAL_DIRECTOR)
    return user


def test_the_device_list_shows_what_falls_due(alice: Any) -> None:
    device = world.device()
    CalibrationRecord.objects.filter(device=device).update(
        performed_on=dt.date.today() - dt.timedelta(days=170)
    )
    page = signed_in(alice).get(reverse("web:devices")).content.decode()
    assert "Calibration of" in page and "10 days" in page


def test_front_desk_may_see_devices_but_not_record_maintenance(bob: Any) -> None:
    device = world.device()
    assert (
        "Record maintenance"
        not in signed_in(bob).get(reverse("web:device", args=[device.pk])).content.decode()
    )
    response = signed_in(bob).post(
        reverse("web:device", args=[device.pk]),
        {
            "record_maintenance": "1",
            "m-kind": "service",
            "m-performed_on": "2026-11-01",
            "m-performed_by": "X",
        },
    )
    assert response.status_code == 403
    assert not MaintenanceRecord.objects.exists()


def test_the_medical_director_records_a_calibration_and_errors_stay_by_their_fields(
    mona: Any,
) -> None:
    device = world.device()
    url = reverse("web:device", args=[device.pk])
    bad = signed_in(mona).post(
        url,
        {
            "record_calibration": "1",
            "c-performed_on": "2026-11-20",
            "c-performed_by": "Lab",
            "c-max_error_c": "-1",
        },
    )
    assert bad.status_code == 200
    form = bad.context["calibration_form"]
    assert "reference_instrument" in form.errors and "max_error_c" in form.errors
    assert CalibrationRecord.objects.filter(device=device).count() == 1
    good = signed_in(mona).post(
        url,
        {
            "record_calibration": "1",
            "c-performed_on": "2026-11-20",
            "c-performed_by": "Lab",
            "c-reference_instrument": "RT-2",
            "c-max_error_c": "0.1",
            "c-passed": "on",
        },
    )
    assert good["Location"] == url
    assert CalibrationRecord.objects.filter(device=device).count() == 2


def test_staff_page_lists_certifications_expiring_soon(alice: Any, mona: Any) -> None:
    alice.practitioner.qualifications.update(expires_on=dt.date.today() + dt.timedelta(days=5))
    page = signed_in(mona).get(reverse("web:staff")).content.decode()
    assert "Expiring within 30 days" in page and "Alice Arden" in page


def test_only_the_medical_director_reads_and_checks_the_audit_log(alice: Any, mona: Any) -> None:
    assert signed_in(alice).get(reverse("web:audit")).status_code == 403
    world.client()
    signed_in(alice).get(reverse("web:clients"))  # an audited search
    page = (
        signed_in(mona)
        .get(reverse("web:audit"), {"verify": "1", "action": "client.search"})
        .content.decode()
    )
    assert "audit chain intact" in page
    assert "client.search" in page
    export = signed_in(mona).get(reverse("web:audit_export"))
    assert b'"action": "client.search"' in export.content


def test_a_score_outside_its_scale_is_refused_next_to_the_score(alice: Any) -> None:
    client = world.client()
    response = signed_in(alice).post(
        reverse("web:outcome_new", args=[client.pk]),
        {
            "record_score": "1",
            "s-scale": "gais",
            "s-score": "9",
            "s-rater": "clinician",
        },
    )
    assert "outside the scale" in response.context["score_form"].errors["score"][0]
    assert not OutcomeScore.objects.exists()


def test_measures_are_charted_per_measure_with_their_unit(alice: Any) -> None:
    client = world.client()
    browser = signed_in(alice)
    for value in ("210", "190"):
        browser.post(
            reverse("web:outcome_new", args=[client.pk]),
            {
                "record_measure": "1",
                "m-quantity": "erythema-index",
                "m-value": value,
                "m-zone": "cheek",
            },
        )
    page = browser.get(reverse("web:outcome_trends", args=[client.pk])).content.decode()
    assert page.count('<svg class="chart"') == 1
    assert "Erythema index (a.u.)" in page


def test_photos_are_shown_side_by_side_only_while_their_consent_stands(alice: Any) -> None:
    world.consent_texts()
    client = world.client()
    consent = consent_service.sign(
        alice, client.pk, "photos", signer_name="Ada Lovelace", signature=SIGNATURE
    )
    for phase in ("before", "after"):
        content = f"{phase} image".encode()
        Photo.objects.create(
            client=client,
            taken_at=timezone.now(),
            view="front",
            phase=phase,
            consent=consent,
            image=ContentFile(content, name=f"{phase}.jpg"),
            sha256=hashlib.sha256(content).hexdigest(),
            recorded_by=alice,
        )
    browser = signed_in(alice)
    page = browser.get(reverse("web:client", args=[client.pk])).content.decode()
    assert "Front before" in page and "Front after" in page
    before = Photo.objects.get(phase="before")
    assert browser.get(reverse("web:photo", args=[before.pk])).status_code == 200
    consent_service.withdraw(
        alice, consent.pk, reason="the client changed her mind", confirmed=True
    )
    page = browser.get(reverse("web:client", args=[client.pk])).content.decode()
    assert "No photographs that may be shown." in page
    assert browser.get(reverse("web:photo", args=[before.pk])).status_code == 404


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 4), (180, 140, 120)).save(out, "PNG")
    return out.getvalue()


PNG = _png()


def upload(browser: Browser, client_pk: int, use: str = "clinical", content: bytes = PNG) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return browser.post(
        reverse("web:outcome_new", args=[client_pk]),
        {
            "add_photo": "1",
            "p-image": SimpleUploadedFile("front.png", content, content_type="image/png"),
            "p-view": "front",
            "p-phase": "before",
            "p-use": use,
        },
    )


def test_a_photograph_needs_the_photo_consent_and_marketing_use_the_marketing_one(
    alice: Any,
) -> None:
    world.consent_texts()
    client = world.client()
    browser = signed_in(alice)
    refused = upload(browser, client.pk)
    assert "not consented to clinical photographs" in refused.context["photo_form"].errors["use"][0]
    consent_service.sign(
        alice, client.pk, "photos", signer_name="Ada Lovelace", signature=SIGNATURE
    )
    marketing = upload(browser, client.pk, use="marketing")
    assert "marketing use" in marketing.context["photo_form"].errors["use"][0]
    assert not Photo.objects.exists()
    assert upload(browser, client.pk)["Location"] == reverse("web:client", args=[client.pk])
    assert Photo.objects.get(client=client).use == "clinical"


def test_a_file_that_is_not_an_image_is_refused_next_to_the_file(alice: Any) -> None:
    client = world.client()
    response = upload(signed_in(alice), client.pk, content=b"%PDF-1.7 not a photo")
    (message,) = response.context["photo_form"].errors["image"]
    assert message.startswith("this is not a JPEG or PNG image")
