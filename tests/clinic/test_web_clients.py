"""The sign-in page, the dashboard and the client pages, through Django's test client.

Personas as everywhere in the clinic's tests: alice (practitioner), bob (front desk),
charlie (a login without a clinic role)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client as Browser
from django.urls import reverse
from django.utils import timezone

from clinic import personas
from cryoderm.clinic.records.models import Appointment, CalibrationRecord, Client, Room
from web import world

pytestmark = pytest.mark.django_db


def ada() -> Client:
    return Client.objects.create(
        given_name="Ada", family_name="Lovelace", date_of_birth=dt.date(1985, 12, 10), sex="female"
    )


def signed_in(user: Any) -> Browser:
    browser = Browser()
    browser.force_login(user)
    return browser


def test_a_visitor_is_sent_to_sign_in_and_back_to_the_page_asked_for() -> None:
    response = Browser().get(reverse("web:clients"))
    assert response.status_code == 302
    assert response["Location"] == reverse("web:login") + "?next=%2Fclients%2F"


def test_signing_in_with_the_form_opens_the_page_asked_for(alice: Any) -> None:
    response = personas.sign_in(Browser(), "alice", next_url="/clients/")
    assert response.status_code == 302
    assert response["Location"] == "/clients/"


def test_a_wrong_password_is_said_on_the_sign_in_page(alice: Any) -> None:
    response = Browser().post(reverse("web:login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()


def test_the_dashboard_shows_due_certifications(alice: Any) -> None:
    qualification = alice.practitioner.qualifications.first()
    qualification.expires_on = dt.date.today() + dt.timedelta(days=10)
    qualification.save()
    page = signed_in(alice).get(reverse("web:dashboard")).content.decode()
    assert "Due within 30 days" in page
    assert "10 days" in page


def test_front_desk_sees_no_clinical_section_on_the_dashboard(bob: Any) -> None:
    page = signed_in(bob).get(reverse("web:dashboard")).content.decode()
    assert "Sessions in progress" not in page


def test_search_finds_a_client_by_family_name(alice: Any) -> None:
    ada()
    page = signed_in(alice).get(reverse("web:clients"), {"q": "love"}).content.decode()
    assert "Lovelace, Ada" in page


def test_search_as_htmx_returns_only_the_rows(alice: Any) -> None:
    ada()
    response = signed_in(alice).get(reverse("web:clients"), {"q": "ada"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "Lovelace, Ada" in body
    assert "<html" not in body


def test_the_client_page_shows_screening_to_a_practitioner_only(alice: Any, bob: Any) -> None:
    client = ada()
    url = reverse("web:client", args=[client.pk])
    assert "Screening verdicts" in signed_in(alice).get(url).content.decode()
    front_desk_page = signed_in(bob).get(url).content.decode()
    assert "Ada Lovelace" in front_desk_page
    assert "Screening verdicts" not in front_desk_page


def test_an_outsider_is_refused_the_client_list_with_the_reason(charlie: Any) -> None:
    response = signed_in(charlie).get(reverse("web:clients"))
    assert response.status_code == 403
    assert "may not see a client" in response.content.decode()


def test_registering_a_client_opens_the_new_client_page(bob: Any) -> None:
    response = signed_in(bob).post(
        reverse("web:client_new"),
        {
            "given_name": "Grace",
            "family_name": "Hopper",
            "date_of_birth": "1976-12-09",
            "sex": "female",
        },
    )
    client = Client.objects.get(family_name="Hopper")
    assert response["Location"] == reverse("web:client", args=[client.pk])


def test_a_bad_date_of_birth_is_shown_next_to_its_field_and_nothing_is_saved(bob: Any) -> None:
    response = signed_in(bob).post(
        reverse("web:client_new"),
        {"given_name": "Grace", "family_name": "Hopper", "date_of_birth": "09/13/1976"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["date_of_birth"]
    assert 'id="id_date_of_birth_error"' in response.content.decode()
    assert not Client.objects.filter(family_name="Hopper").exists()


def test_a_missing_client_is_a_404(alice: Any) -> None:
    assert signed_in(alice).get(reverse("web:client", args=[999])).status_code == 404


def test_the_dashboard_lists_todays_appointments(alice: Any) -> None:
    start = timezone.now().replace(hour=10, minute=0, second=0, microsecond=0)
    Appointment.objects.create(
        client=ada(),
        practitioner=alice.practitioner,
        device=world.device(),
        room=Room.objects.create(name="Room 1"),
        starts_at=start,
        ends_at=start + dt.timedelta(minutes=30),
    )
    page = signed_in(alice).get(reverse("web:dashboard")).content.decode()
    assert "10:00–10:30" in page and "Ada Lovelace" in page


def test_signing_in_without_a_page_asked_for_opens_the_dashboard(alice: Any) -> None:
    response = personas.sign_in(Browser(), "alice")
    assert response["Location"] == reverse("web:dashboard")


def test_the_dashboard_links_a_device_whose_calibration_falls_due(alice: Any) -> None:
    device = world.device()
    CalibrationRecord.objects.filter(device=device).update(
        performed_on=dt.date.today() - dt.timedelta(days=200)
    )
    page = signed_in(alice).get(reverse("web:dashboard")).content.decode()
    assert "Overdue" in page and f'href="/devices/{device.pk}/"' in page
