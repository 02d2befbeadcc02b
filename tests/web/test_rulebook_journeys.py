"""The corrected flows in Debian's chromium: a refer finding signed off by two people, a
consent that needs a real signature and a confirmed withdrawal, and a record that refuses
an impossible date, flags a look-alike and is corrected with its history kept.

alice (practitioner) does the work; dora (a second clinician) confirms the sign-off with
her own password, at alice's screen, as the clinic does."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from clinic import personas
from cryoderm.clinic.accounts.permissions import PRACTITIONER, grant_role
from cryoderm.clinic.records.models import Client, Consent, ReferralSignOff
from web import world
from web.conftest import Shots, assert_every_field_labelled, sign_in
from web.test_journeys import draw_signature

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def clinic() -> dict[str, Any]:
    world.consent_texts()
    dora = personas.make_user("dora", "Dora", "Dunn")
    grant_role(dora, PRACTITIONER)
    personas.make_practitioner(dora)
    return {"alice": personas.alice(), "dora": dora}


def test_sign_off_by_two_people_a_real_signature_and_corrections_that_keep_the_past(
    page: Any, shot: Shots, clinic: dict[str, Any]
) -> None:
    page.goto("/login/")
    sign_in(page, "alice", personas.PASSWORD)

    # A date of birth in the future is refused; a look-alike is flagged until confirmed.
    world.client(given_name="Grace", family_name="Hopper")
    page.goto("/clients/new/")
    page.get_by_label("Given name").fill("Grace")
    page.get_by_label("Family name").fill("Hopper")
    page.get_by_label("Date of birth").fill("2031-04-01")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_text("is in the future")).to_be_visible()
    page.get_by_label("Date of birth").fill("1985-12-10")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_text("possibly already registered")).to_be_visible()
    shot(page, "look-alike-flagged")
    page.get_by_label("This is another person: register anyway").check()
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", name="Grace Hopper")).to_be_visible()
    expect(page.get_by_text("Possibly the same person as")).to_be_visible()
    client = Client.objects.order_by("-pk").first()

    # The refer finding: alice alone cannot sign it off; dora's password can.
    page.goto(f"/clients/{client.pk}/screening/")
    page.get_by_label("Fitzpatrick skin type").select_option("2")
    page.get_by_label("Taking anticoagulants").check()
    page.get_by_role("button", name="Save the screening").click()
    expect(page.locator("[data-outcome]").first).to_have_attribute("data-outcome", "refer")
    page.get_by_label("Reason for treating despite the finding").fill("INR stable, GP letter")
    page.get_by_label("Second clinician's username").fill("dora")
    page.get_by_role("button", name="Sign off").click()
    expect(page.get_by_text("password or a one-time code")).to_be_visible()
    assert not ReferralSignOff.objects.exists()
    page.get_by_label("Second clinician's password").fill(personas.PASSWORD)
    assert_every_field_labelled(page)
    shot(page, "second-clinician-confirms")
    page.get_by_role("button", name="Sign off").click()
    expect(page.get_by_text("signed off by two clinicians")).to_be_visible()
    signoff = ReferralSignOff.objects.get()
    assert (signoff.signed_by, signoff.second_clinician) == (clinic["alice"], clinic["dora"])

    # A tap is not a signature; the drawn name is.
    page.goto(f"/clients/{client.pk}/consents/treatment/sign/")
    page.get_by_label("Client's full name").fill("Grace Hopper")
    box = page.locator(".signature canvas").bounding_box()
    page.mouse.click(box["x"] + 50, box["y"] + 40)
    page.get_by_label("The client has read this text").check()
    page.get_by_role("button", name="Sign the consent").click()
    expect(page.get_by_text("not a signature")).to_be_visible()
    shot(page, "a-tap-is-not-a-signature")
    page.get_by_role("button", name="Clear the signature").click()
    draw_signature(page)
    page.get_by_label("The client has read this text").check()
    page.get_by_role("button", name="Sign the consent").click()
    expect(page.get_by_role("img", name="Signature of Grace Hopper")).to_be_visible()

    # Withdrawal: not by one click; with the client's confirmation and a reason.
    page.get_by_role("button", name="Record the withdrawal").click()
    expect(page.get_by_text("Tick the confirmation first.")).to_be_visible()
    page.get_by_label("Reason").first.fill("The client prefers to wait a year")
    page.get_by_label("The client confirms that they withdraw this consent").check()
    page.get_by_role("button", name="Record the withdrawal").click()
    expect(page.get_by_text("The client prefers to wait a year")).to_be_visible()
    assert Consent.objects.get().withdrawn_by == clinic["alice"]
    shot(page, "withdrawn-with-a-reason")

    # A correction with its reason; the earlier value stays in the history.
    page.goto(f"/clients/{client.pk}/correct/")
    page.get_by_label("Date of birth").fill("1985-12-01")
    page.get_by_label("Reason for the correction").fill("passport seen: born on the 1st")
    page.get_by_role("button", name="Record the correction").click()
    expect(page.get_by_text("the earlier values are kept")).to_be_visible()
    history = page.get_by_role("region", name="History of corrections")
    expect(history).to_contain_text(re.compile(r"1985-12-10 → 1985-12-01"))
    expect(history).to_contain_text("passport seen: born on the 1st")
    shot(page, "correction-history")
    assert page.js_errors == []
