"""Screening and consent pages: the verdict as the form is filled, errors next to fields,
the two-clinician sign-off of a refer finding, and a signed consent that stays as signed.

Personas: alice (practitioner), bob (front desk); dora, a second practitioner, signs off
with alice."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client as Browser
from django.urls import reverse

from clinic import personas
from clinic.factories import SIGNATURE
from cryoderm.clinic.accounts.permissions import PRACTITIONER, grant_role
from cryoderm.clinic.records.models import Consent, ReferralSignOff, ScreeningResponse
from web import world

pytestmark = pytest.mark.django_db


def signed_in(user: Any) -> Browser:
    browser = Browser()
    browser.force_login(user)
    return browser


def answers(**extra: Any) -> dict[str, Any]:
    data = {
        "age_years": "40",
        "sex": "female",
        "fitzpatrick": "2",
        "systolic_mmhg": "120",
        "diastolic_mmhg": "80",
    }
    data.update(extra)
    return data


def test_the_preview_shows_the_verdict_without_saving(alice: Any) -> None:
    client = world.client()
    response = signed_in(alice).post(
        reverse("web:screening_preview", args=[client.pk]),
        answers(conditions="raynauds"),
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert 'data-outcome="do-not-treat"' in body
    assert "Raynaud" in body and "Source:" in body
    assert not ScreeningResponse.objects.exists()


def test_the_preview_lists_what_to_correct_before_a_verdict(alice: Any) -> None:
    client = world.client()
    response = signed_in(alice).post(
        reverse("web:screening_preview", args=[client.pk]), answers(systolic_mmhg="", age_years="")
    )
    body = response.content.decode()
    assert "data-outcome" not in body
    # The age is the record's (shown, not asked): an emptied or changed age is no error.
    assert "Age (years)" not in body and "age_years" not in body
    assert "Give both blood pressure values" in body


def test_saving_a_screening_stores_the_verdict_and_opens_it(alice: Any) -> None:
    client = world.client()
    response = signed_in(alice).post(reverse("web:screening_new", args=[client.pk]), answers())
    screening = ScreeningResponse.objects.get(client=client)
    assert response["Location"] == reverse("web:screening", args=[screening.pk])
    assert screening.outcome == "clear"


def test_a_procedure_without_a_date_is_refused_next_to_the_date(alice: Any) -> None:
    client = world.client()
    response = signed_in(alice).post(
        reverse("web:screening_new", args=[client.pk]), answers(procedure_kind_0="chemical-peel")
    )
    assert response.status_code == 200
    assert response.context["form"].errors["procedure_date_0"] == [
        "Give the date of this procedure."
    ]
    assert not ScreeningResponse.objects.exists()


def test_front_desk_is_refused_the_screening_form(bob: Any) -> None:
    client = world.client()
    assert signed_in(bob).get(reverse("web:screening_new", args=[client.pk])).status_code == 403


def test_a_refer_finding_is_signed_off_by_two_clinicians(alice: Any) -> None:
    dora = personas.make_user("dora", "Dora", "Dunn")
    grant_role(dora, PRACTITIONER)
    personas.make_practitioner(dora)
    client = world.client()
    browser = signed_in(alice)
    browser.post(
        reverse("web:screening_new", args=[client.pk]), answers(conditions="anticoagulants")
    )
    screening = ScreeningResponse.objects.get(client=client)
    assert screening.outcome == "refer"
    url = reverse("web:screening", args=[screening.pk])
    wrong = browser.post(
        url,
        {
            "rule_id": "anticoagulants",
            "reason": "INR stable",
            "second_username": "dora",
            "second_password": "x",
        },
    )
    assert "do not match an active clinician" in wrong.content.decode()
    assert not ReferralSignOff.objects.exists()
    browser.post(
        url,
        {
            "rule_id": "anticoagulants",
            "reason": "INR stable, haematologist agrees",
            "second_username": "dora",
            "second_password": personas.PASSWORD,
        },
    )
    signoff = ReferralSignOff.objects.get(screening=screening)
    assert (signoff.signed_by, signoff.second_clinician) == (alice, dora)


def test_signing_a_consent_freezes_the_text_that_was_read(bob: Any) -> None:
    world.consent_texts()
    client = world.client()
    url = reverse("web:consent_sign", args=[client.pk, "treatment"])
    page = signed_in(bob).get(url)
    sha = page.context["text"].sha256
    response = signed_in(bob).post(
        url,
        {
            "text_sha256": sha,
            "signer_name": "Ada Lovelace",
            "signature": SIGNATURE,
            "read_confirmed": "on",
        },
    )
    consent = Consent.objects.get(client=client)
    assert response["Location"] == reverse("web:consent", args=[consent.pk])
    assert consent.text_sha256 == sha
    frozen = signed_in(bob).get(response["Location"]).content.decode()
    assert "This record is frozen" in frozen and world.TREATMENT_TEXT[:40] in frozen


def test_a_consent_without_a_signature_is_refused_next_to_the_pad(bob: Any) -> None:
    world.consent_texts()
    client = world.client()
    url = reverse("web:consent_sign", args=[client.pk, "treatment"])
    sha = signed_in(bob).get(url).context["text"].sha256
    response = signed_in(bob).post(
        url, {"text_sha256": sha, "signer_name": "Ada Lovelace", "read_confirmed": "on"}
    )
    assert response.context["form"].errors["signature"] == ["Please sign in the box above."]
    assert not Consent.objects.exists()


def test_a_consent_on_outdated_wording_is_refused(bob: Any) -> None:
    world.consent_texts()
    client = world.client()
    response = signed_in(bob).post(
        reverse("web:consent_sign", args=[client.pk, "treatment"]),
        {
            "text_sha256": "0" * 64,
            "signer_name": "Ada Lovelace",
            "signature": SIGNATURE,
            "read_confirmed": "on",
        },
    )
    assert "The wording changed" in response.content.decode()
    assert not Consent.objects.exists()
