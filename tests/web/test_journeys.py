"""Whole journeys in Debian's chromium against the live server.

- alice (practitioner) registers a new client, screens her, has her consent signed on the
  signature pad, plans a cheek treatment on the face map, runs it on the simulated device
  whose practitioner lingers on one spot until the interlock stops it, acknowledges the
  alarm, and records an outcome;
- bob (front desk) is refused every clinical page;
- an idle page signs alice out, and her half-filled form comes back when she signs in again.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from clinic import personas
from clinic.live_helpers import interlock_process
from cryoderm.clinic.live.forwarder import Forwarder
from cryoderm.clinic.records.models import Client, TreatmentSession
from web import world
from web.conftest import Shots, assert_every_field_labelled, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def clinic(settings: Any, tmp_path: Any) -> Iterator[dict[str, Any]]:
    """The clinic's people and device, with the interlock in a process of its own and the
    journal forwarder running, as ``cryoderm serve`` has them."""
    settings.CRYODERM_INTERLOCK_DIR = tmp_path / "interlock"
    world.consent_texts()
    people = {"alice": personas.alice(), "bob": personas.bob(), "device": world.device()}
    with interlock_process(settings.CRYODERM_INTERLOCK_DIR):
        forwarder = Forwarder(settings.CRYODERM_INTERLOCK_DIR)
        forwarder.start()
        try:
            yield people
        finally:
            forwarder.stop()


def draw_signature(page: Any) -> None:
    box = page.locator(".signature canvas").bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + box["height"] * 0.7)
    page.mouse.down()
    for i in range(1, 12):
        page.mouse.move(
            box["x"] + 20 + i * 25, box["y"] + box["height"] * (0.7 - 0.4 * (i % 2)), steps=3
        )
    page.mouse.up()


def test_a_new_client_is_screened_consents_is_planned_treated_and_followed_up(
    page: Any, shot: Shots, clinic: dict[str, Any]
) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next="))
    shot(page, "sign-in")
    sign_in(page, "alice", personas.PASSWORD)
    expect(page.get_by_role("heading", name="Today", exact=True)).to_be_visible()
    shot(page, "dashboard")

    page.get_by_role("link", name="Clients").click()
    page.get_by_role("link", name="Register a new client").click()
    page.get_by_label("Given name").fill("Grace")
    page.get_by_label("Family name").fill("Hopper")
    page.get_by_label("Date of birth").fill("1976-12-09")
    page.get_by_label("Sex").select_option("female")
    shot(page, "register-client")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", name="Grace Hopper")).to_be_visible()
    client = Client.objects.get(family_name="Hopper")

    page.get_by_role("link", name="Screen").click()
    page.get_by_label("Fitzpatrick skin type").select_option("2")
    page.get_by_label("Systolic blood pressure today (mmHg)").fill("122")
    page.get_by_label("Diastolic blood pressure today (mmHg)").fill("78")
    page.get_by_label("Planned modality").select_option("ln2-vapour")
    page.locator('input[name="zones"][value="cheek"]').check()
    # Liquid nitrogen on dry skin is a precaution (contraindications.toml: dry-skin-before-ln2).
    expect(page.locator("#verdict [data-outcome]")).to_have_attribute("data-outcome", "precautions")
    page.get_by_label("Raynaud's phenomenon").check()
    expect(page.locator("#verdict [data-outcome]")).to_have_attribute(
        "data-outcome", "do-not-treat"
    )
    shot(page, "screening-verdict-as-filled")
    assert_every_field_labelled(page)
    page.get_by_label("Raynaud's phenomenon").uncheck()
    expect(page.locator("#verdict [data-outcome]")).to_have_attribute("data-outcome", "precautions")
    page.get_by_role("button", name="Save the screening").click()
    expect(page.locator("[data-outcome]").first).to_have_attribute("data-outcome", "precautions")
    shot(page, "screening-saved")

    page.goto(f"/clients/{client.pk}/consents/treatment/sign/")
    expect(page.get_by_text("Facial cryotherapy cools the skin")).to_be_visible()
    page.get_by_role("button", name="Sign the consent").click()
    expect(page.get_by_text("Please sign in the box above.")).to_be_visible()
    page.get_by_label("Client's full name").fill("Grace Hopper")
    draw_signature(page)
    page.get_by_label("The client has read this text").check()
    shot(page, "consent-signing")
    assert_every_field_labelled(page)
    page.get_by_role("button", name="Sign the consent").click()
    expect(page.get_by_text("This record is frozen")).to_be_visible()
    expect(page.get_by_role("img", name="Signature of Grace Hopper")).to_be_visible()
    shot(page, "consent-frozen")

    page.goto(f"/clients/{client.pk}/plan/")
    forehead = page.locator('g.zone[data-zone="forehead"]')
    forehead.focus()
    page.keyboard.press("Space")
    expect(page.locator('input[name="zones"][value="forehead"]')).to_be_checked()
    page.keyboard.press("Space")
    expect(page.locator('input[name="zones"][value="forehead"]')).not_to_be_checked()
    page.locator('g.zone[data-zone="cheek"] ellipse').first.click()
    expect(page.locator('g.zone[data-zone="cheek"]')).to_have_attribute("aria-checked", "true")
    page.locator('input[name="goals"][value="skin-tone"]').check()
    page.get_by_label("Modality").select_option("ln2-vapour")
    page.get_by_label("Device").select_option(str(clinic["device"].pk))
    shot(page, "plan-face-map")
    assert_every_field_labelled(page)
    with page.expect_navigation(timeout=120_000):  # the planner simulates every candidate
        page.get_by_role("button", name="Make the plan").click(no_wait_after=True)
    expect(
        page.get_by_role("img", name="Cheek (zygoma, malar): temperature against time")
    ).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Evidence, in plain words")).to_be_visible()
    shot(page, "plan-and-gates")
    session = TreatmentSession.objects.get(client=client)

    page.get_by_role("button", name="Start the session").click()
    expect(page).to_have_url(re.compile(rf"/sessions/{session.pk}/live/$"))
    page.get_by_label("Simulated device fault").select_option("linger")
    page.get_by_role("button", name="Start Cheek (zygoma, malar)").click()
    expect(page.locator("#live-status")).to_have_text("Running")
    expect(page.locator("#temp-now")).to_contain_text("°C", timeout=15_000)
    shot(page, "live-running")
    assert_every_field_labelled(page)
    expect(page.locator("#live-status")).to_contain_text(
        "Stopped by the interlock", timeout=120_000
    )
    expect(page.locator("#stop-button")).to_be_disabled()
    high = page.locator("#alarms .alarm.high").first
    expect(high).to_be_visible()
    shot(page, "live-stopped-by-interlock")
    # The page reloads once the records have the stop: the zone may be resumed or ended.
    expect(page.locator("#zone-cheek")).to_have_attribute("data-status", "stopped", timeout=30_000)
    expect(page.get_by_label("Reason to resume Cheek (zygoma, malar)")).to_be_visible()
    high = page.locator("#alarms .alarm.high").first
    high.get_by_role("button", name="Acknowledge").click()
    expect(high.locator(".alarm-state")).to_contain_text("acknowledged by alice")
    shot(page, "live-alarm-acknowledged")
    page.get_by_label("Reason to end Cheek (zygoma, malar) and go on").fill(
        "skin too cold to go on today"
    )
    page.get_by_role("button", name="End Cheek (zygoma, malar)").click()
    expect(page.locator("#zone-cheek")).to_have_attribute("data-status", "ended", timeout=30_000)

    page.goto(f"/sessions/{session.pk}/")
    expect(
        page.get_by_text(
            re.compile(r"^Aborted: Cheek \(zygoma, malar\): the (skin reached|floor was forecast)")
        ).first
    ).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Coldest measured skin")).to_be_visible()
    shot(page, "session-record")
    assert page.request.get(f"/sessions/{session.pk}/report.pdf").body().startswith(b"%PDF")

    page.get_by_role("link", name="Record an outcome").click()
    page.get_by_label("Scale", exact=True).select_option("gais")
    page.get_by_label("Score (scale points)").fill("7")
    page.get_by_role("button", name="Record the score").click()
    expect(page.get_by_text("outside the scale")).to_be_visible()
    shot(page, "outcome-error-next-to-field")
    assert_every_field_labelled(page)
    page.get_by_label("Score (scale points)").fill("2")
    page.get_by_role("button", name="Record the score").click()
    expect(page.get_by_role("heading", name=re.compile("Outcome trends"))).to_be_visible()
    expect(page.locator("svg.chart")).to_have_count(1)
    shot(page, "outcome-trends")

    page.goto(f"/clients/{client.pk}/")
    shot(page, "client-history")
    assert page.js_errors == []


def test_front_desk_is_refused_clinical_pages(
    page: Any, shot: Shots, clinic: dict[str, Any]
) -> None:
    client = world.client()
    session = TreatmentSession.objects.create(
        client=client,
        practitioner=clinic["alice"].practitioner,
        device=clinic["device"],
        zones=["cheek"],
    )
    page.goto("/login/")
    sign_in(page, "bob", personas.PASSWORD)
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log")
    ).to_have_count(0)
    for path in (
        f"/clients/{client.pk}/screening/",
        f"/clients/{client.pk}/plan/",
        f"/sessions/{session.pk}/",
        f"/sessions/{session.pk}/live/",
        f"/clients/{client.pk}/outcomes/",
        "/audit/",
    ):
        response = page.goto(path)
        assert response.status == 403, path
        expect(
            page.get_by_role("heading", name="This page is not open to your role")
        ).to_be_visible()
    shot(page, "front-desk-refused")
    page.goto(f"/clients/{client.pk}/")
    expect(page.get_by_role("heading", name="Ada Lovelace")).to_be_visible()
    expect(page.get_by_text("Screening verdicts")).to_have_count(0)
    shot(page, "front-desk-client-page")


def test_an_idle_page_signs_out_and_the_form_comes_back(
    page: Any, shot: Shots, clinic: dict[str, Any]
) -> None:
    client = world.client()
    page.clock.install()
    page.goto("/login/")
    sign_in(page, "alice", personas.PASSWORD)
    page.goto(f"/clients/{client.pk}/screening/")
    page.get_by_label("Systolic blood pressure today (mmHg)").fill("131")
    page.get_by_label("Diastolic blood pressure today (mmHg)").fill("84")
    page.get_by_label("Pregnancy or lactation").check()
    shot(page, "half-filled-form")
    page.clock.fast_forward("16:00")  # the clinic's idle limit is 15 min
    expect(page).to_have_url(re.compile(r"/login/\?idle=1"))
    expect(page.get_by_text("signed out after a period without activity")).to_be_visible()
    shot(page, "signed-out-when-idle")
    assert page.goto(f"/clients/{client.pk}/").url.endswith(
        f"/login/?next=%2Fclients%2F{client.pk}%2F"
    )
    page.goto(f"/login/?idle=1&next=/clients/{client.pk}/screening/")
    sign_in(page, "alice", personas.PASSWORD)
    expect(page).to_have_url(re.compile(rf"/clients/{client.pk}/screening/$"))
    expect(page.get_by_text("Your unsaved entries on this form were restored.")).to_be_visible()
    expect(page.get_by_label("Systolic blood pressure today (mmHg)")).to_have_value("131")
    expect(page.get_by_label("Pregnancy or lactation")).to_be_checked()
    shot(page, "form-restored")
