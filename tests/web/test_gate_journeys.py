"""Gates in Debian's chromium: the screening form shows the record's age and does not take
another (a 16-year-old typed in as 30 is still screened as a minor), and a second session on
a zone treated two hours ago shows its interval gate blocked and does not start.

alice (practitioner) does the work."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinic import factories, personas
from cryoderm.clinic.records.models import ScreeningResponse, TreatmentSession
from cryoderm.clinic.records.services import planning
from cryoderm.clinic.records.services import sessions as session_service
from web import world
from web.conftest import Shots, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_records_age_and_the_interval_between_sessions_hold_in_the_browser(
    page: Any, shot: Shots
) -> None:
    alice = personas.alice()
    world.consent_texts()
    today = timezone.localdate()
    minor = world.client(
        given_name="Tom",
        family_name="Young",
        date_of_birth=(today + dt.timedelta(days=20)).replace(year=today.year - 16),
    )
    page.goto("/login/")
    sign_in(page, "alice", personas.PASSWORD)

    # The age is the record's: shown, not editable, and a forged one is not taken.
    page.goto(f"/clients/{minor.pk}/screening/")
    age = page.get_by_label("Age (years)")
    expect(age).to_be_disabled()
    expect(age).to_have_value("15")
    age.evaluate("field => { field.disabled = false; field.value = '30'; }")
    page.get_by_label("Fitzpatrick skin type").select_option("2")
    page.get_by_role("button", name="Save the screening").click()
    expect(page.locator("[data-outcome]").first).to_have_attribute("data-outcome", "refer")
    expect(page.get_by_text("Age under 18 years").first).to_be_visible()
    shot(page, "screened-as-the-minor-the-record-says")
    assert ScreeningResponse.objects.get(client=minor).answers["age_years"] == 15

    # The cheek was treated two hours ago: the next session on it waits.
    first = factories.ready_session(alice, zones=["cheek"])
    end = timezone.now() - dt.timedelta(hours=2)
    session_service.start(alice, first.pk, at=end - dt.timedelta(minutes=10))
    session_service.finish(alice, first.pk, exposure_s=90.0, at=end)
    again = planning.plan_session(
        alice,
        client_id=first.client_id,
        device_id=first.device_id,
        zones=["cheek"],
        goals=["skin-tone"],
    )
    page.goto(f"/sessions/{again.pk}/")
    gate = page.locator("ul.gates li", has_text="Time since the last session on these zones")
    expect(gate).to_contain_text("Blocked")
    expect(gate).to_contain_text("at least 24 h between sessions")
    shot(page, "interval-gate-blocked")
    page.get_by_role("button", name="Start the session").click()
    expect(page.get_by_text("Time since the last session on these zones").first).to_be_visible()
    assert TreatmentSession.objects.get(pk=again.pk).status == "planned"
    assert page.js_errors == []
