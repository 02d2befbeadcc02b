"""Security journeys in Debian's chromium against the live server.

- a new practitioner's first sign-in: password, then setting up an authenticator from the
  page's key, the recovery codes shown once, then the dashboard;
- a forged photograph (a page behind a JPEG's first bytes) is refused next to the file
  field and nothing reaches the client's record; a real one is shown as an image.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pyotp
import pytest
from PIL import Image
from playwright.sync_api import expect

from clinic import personas
from clinic.factories import SIGNATURE
from cryoderm.clinic.accounts.permissions import PRACTITIONER, grant_role
from cryoderm.clinic.records.models import Photo
from cryoderm.clinic.records.services import consent as consent_service
from web import world
from web.conftest import Shots, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FORGED = (
    b"\xff\xd8\xff\xe0<html><body><script>"
    b"fetch('/devices/1/',{method:'POST',credentials:'include',body:'passed=on'})"
    b"</script></body></html>"
)


def test_a_new_practitioner_sets_up_an_authenticator_at_first_sign_in(
    page: Any, shot: Shots
) -> None:
    carol = personas.make_user("carol", "Carol", "Chen")
    grant_role(carol, PRACTITIONER)
    page.goto("/login/")
    page.get_by_label("Username").fill("carol")
    page.get_by_label("Password").fill(personas.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Set up an authenticator")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    shot(page, "set-up-authenticator")
    key = page.locator("code.secret").inner_text().replace(" ", "")
    page.get_by_label("Authentication code").fill(pyotp.TOTP(key).now())
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Recovery codes")).to_be_visible()
    expect(page.locator(".recovery-codes li")).to_have_count(10)
    shot(page, "recovery-codes")
    page.get_by_role("link", name=re.compile("I have kept them")).click()
    expect(page.get_by_role("heading", name="Today", exact=True)).to_be_visible()
    assert not page.js_errors


def test_a_forged_photo_is_refused_and_a_real_one_is_shown(page: Any, shot: Shots) -> None:
    world.consent_texts()
    alice = personas.alice()
    client = world.client()
    consent_service.sign(
        alice, client.pk, "photos", signer_name="Ada Lovelace", signature=SIGNATURE
    )
    page.goto(f"/clients/{client.pk}/outcomes/new/")
    sign_in(page, "alice", personas.PASSWORD)
    page.get_by_label("Photograph (JPEG or PNG)").set_input_files(
        {"name": "calibration.html", "mimeType": "image/jpeg", "buffer": FORGED}
    )
    page.get_by_role("button", name="Add the photograph").click()
    expect(page.get_by_text(re.compile("this is not a JPEG or PNG image"))).to_be_visible()
    shot(page, "forged-photo-refused")
    assert not Photo.objects.exists()

    real = io.BytesIO()
    Image.new("RGB", (120, 90), (190, 140, 120)).save(real, "JPEG")
    page.get_by_label("Photograph (JPEG or PNG)").set_input_files(
        {"name": "front.jpg", "mimeType": "image/jpeg", "buffer": real.getvalue()}
    )
    page.get_by_role("button", name="Add the photograph").click()
    expect(page.get_by_text("Photograph added.")).to_be_visible()
    image = page.get_by_role("img", name=re.compile("Front before"))
    expect(image).to_be_visible()
    # Visible is not loaded: wait until the browser has decoded the served image (a failed
    # load leaves it complete with no width, and the wait times out).
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    assert page.evaluate("img => img.naturalWidth", image.element_handle()) == 120
    shot(page, "photo-shown")
    assert not page.js_errors
