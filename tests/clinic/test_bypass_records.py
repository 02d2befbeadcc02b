"""Bypasses through the records themselves: an age that is not the record's (replaced by
the record's, birthday-aware), a session filed
under another client's appointment, and fields the server decides sent in a request body
(mass assignment). Each is refused by the one service that owns the rule (or, for fields an
endpoint does not take, by the API's request schemas), naming the field.

Personas: alice (practitioner), bob (front desk), dora (medical director)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client as Browser
from django.urls import reverse
from django.utils import timezone

from clinic import factories
from clinic.api_helpers import Api, director
from cryoderm.clinic.audit.models import AuditEntry
from cryoderm.clinic.records.errors import InvalidRecord
from cryoderm.clinic.records.models import ScreeningResponse, TreatmentSession
from cryoderm.clinic.records.services import planning, scheduling, screening
from cryoderm.clinic.records.services import sessions as session_service
from cryoderm.clinic.records.services._common import age_years
from cryoderm.clinical.rules import load_rulebook

pytestmark = pytest.mark.django_db

ANSWERS = {k: v for k, v in factories.CLEAR_ANSWERS.items() if k != "age_years"}


def born_years_ago(years: int, *, birthday_in_days: int) -> dt.date:
    """A date of birth ``years`` years before today, the birthday ``birthday_in_days`` away
    (positive: not yet this year)."""
    today = timezone.localdate()
    day = today + dt.timedelta(days=birthday_in_days)
    return day.replace(year=day.year - years)


# -- age: from the record's date of birth, the birthday respected ----------------------


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        (dt.date(2000, 6, 15), dt.date(2026, 6, 14), 25),
        (dt.date(2000, 6, 15), dt.date(2026, 6, 15), 26),
        (dt.date(2000, 2, 29), dt.date(2026, 2, 28), 25),
        (dt.date(2000, 2, 29), dt.date(2026, 3, 1), 26),
        (dt.date(2000, 2, 29), dt.date(2028, 2, 29), 28),
        (dt.date(1999, 12, 31), dt.date(2026, 1, 1), 26),
    ],
)
def test_age_counts_completed_years_and_the_birthday_from_its_day(born, on, age) -> None:
    assert age_years(born, on) == age


def test_a_screening_takes_the_age_from_the_record_the_day_before_the_birthday(alice) -> None:
    client = factories.make_client(alice, date_of_birth=born_years_ago(18, birthday_in_days=1))
    done = screening.submit(alice, client, ANSWERS)
    assert done.answers["age_years"] == 17
    assert "age-under-18" in done.rule_ids("refer")


def test_a_screening_on_the_birthday_counts_the_new_year(alice) -> None:
    client = factories.make_client(alice, date_of_birth=born_years_ago(18, birthday_in_days=0))
    done = screening.submit(alice, client, ANSWERS)
    assert done.answers["age_years"] == 18
    assert "age-under-18" not in done.rule_ids("refer")


def test_an_age_typed_against_the_record_is_replaced_and_the_audit_keeps_it(alice) -> None:
    minor = factories.make_client(alice, date_of_birth=born_years_ago(16, birthday_in_days=30))
    done = screening.submit(alice, minor, {**ANSWERS, "age_years": 30})
    assert done.answers["age_years"] == 15
    assert done.outcome == "refer"
    assert "age-under-18" in done.rule_ids("refer")
    entry = AuditEntry.objects.filter(action="screening.submit").latest("seq")
    assert json.loads(entry.detail)["given_instead_of_record"] == {"age_years": 30}


def test_api_a_minor_screened_as_an_adult_is_screened_as_the_minor(alice) -> None:
    minor = factories.make_client(alice, date_of_birth=born_years_ago(16, birthday_in_days=-3))
    response = Api(alice).post(
        f"/clients/{minor.pk}/screenings", {"answers": {**ANSWERS, "age_years": 30}}
    )
    assert response.status_code == 201, response.json()
    assert response.json()["outcome"] == "refer"
    stored = ScreeningResponse.objects.get(pk=response.json()["id"])
    assert stored.answers["age_years"] == 16


def test_a_fhir_questionnaire_response_takes_the_age_from_the_record_too(alice) -> None:
    minor = factories.make_client(alice, date_of_birth=born_years_ago(13, birthday_in_days=5))
    answers = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": "Questionnaire/cryoderm-screening",
        "item": [
            {"linkId": "age_years", "answer": [{"valueDecimal": 40}]},
            {
                "linkId": "conditions",
                "item": [
                    {"linkId": c, "answer": [{"valueBoolean": False}]}
                    for c in load_rulebook().condition_ids
                ],
            },
        ],
    }
    done = screening.submit(alice, minor, answers)
    assert done.answers["age_years"] == 12
    assert done.outcome == "do-not-treat"


def test_the_sex_comes_from_the_record(alice) -> None:
    client = factories.make_client(alice)
    done = screening.submit(alice, client, {**ANSWERS, "sex": "male"})
    assert done.answers["sex"] == "female"


def test_page_the_screening_form_shows_the_records_age_and_ignores_a_posted_one(alice) -> None:
    minor = factories.make_client(alice, date_of_birth=born_years_ago(16, birthday_in_days=2))
    browser = Browser()
    browser.force_login(alice)
    url = reverse("web:screening_new", args=[minor.pk])
    assert 'value="15"' in browser.get(url).content.decode()
    browser.post(url, {"age_years": "30", "sex": "female", "fitzpatrick": "2"})
    stored = ScreeningResponse.objects.get(client=minor)
    assert stored.answers["age_years"] == 15


def test_the_plan_uses_the_age_on_the_day_it_is_made(alice, monkeypatch) -> None:
    client = factories.make_client(alice, date_of_birth=born_years_ago(40, birthday_in_days=1))
    factories.screen(alice, client, ANSWERS)
    seen: list[float | None] = []
    original = planning.plan

    def spy(request: Any) -> Any:
        seen.append(request.age_years)
        return original(request)

    monkeypatch.setattr(planning, "plan", spy)
    planning.preview(alice, client.pk, goals=["skin-tone"], zones=["forehead"], modality="cold-air")
    assert seen == [39.0]


def test_a_date_of_birth_125_years_back_is_refused(alice) -> None:
    with pytest.raises(InvalidRecord) as refused:
        factories.make_client(alice, date_of_birth=born_years_ago(125, birthday_in_days=0))
    assert refused.value.field == "date_of_birth"
    factories.make_client(alice, date_of_birth=born_years_ago(125, birthday_in_days=1))


# -- a session under another client's appointment ------------------------------------------


@pytest.fixture
def booked(alice) -> Any:
    """An appointment of client Erin with alice on the cold-air device, tomorrow."""
    erin = factories.make_client(alice, given_name="Erin", family_name="Eve")
    device = factories.make_device()
    start = timezone.now() + dt.timedelta(days=1)
    return scheduling.book(
        factories.SYSTEM,
        client_id=erin.pk,
        practitioner_id=alice.practitioner.pk,
        device_id=device.pk,
        room_id=factories.make_room().pk,
        starts_at=start,
        ends_at=start + dt.timedelta(minutes=30),
    )


def test_a_session_under_another_clients_appointment_is_refused(alice, booked) -> None:
    other = factories.make_client(alice, given_name="Frank", family_name="Fox")
    with pytest.raises(InvalidRecord) as refused:
        session_service.create(
            alice,
            client_id=other.pk,
            device_id=booked.device_id,
            zones=["forehead"],
            appointment_id=booked.pk,
        )
    assert refused.value.field == "appointment_id"
    assert "another client" in str(refused.value)
    assert not TreatmentSession.objects.exists()


def test_api_a_session_under_another_clients_appointment_is_refused(alice, booked) -> None:
    other = factories.make_client(alice, given_name="Frank", family_name="Fox")
    response = Api(alice).post(
        "/sessions",
        {
            "client_id": other.pk,
            "device_id": booked.device_id,
            "zones": ["forehead"],
            "appointment_id": booked.pk,
        },
    )
    assert response.status_code == 422, response.json()
    assert response.json()["field"] == "appointment_id"


def test_a_session_under_another_practitioners_or_devices_appointment_is_refused(
    alice, booked
) -> None:
    dora = director()
    with pytest.raises(InvalidRecord, match="another practitioner"):
        session_service.create(
            dora,
            client_id=booked.client_id,
            device_id=booked.device_id,
            zones=["forehead"],
            appointment_id=booked.pk,
        )
    second = factories.make_device(serial_number="CA-0002")
    with pytest.raises(InvalidRecord, match="another device"):
        session_service.create(
            alice,
            client_id=booked.client_id,
            device_id=second.pk,
            zones=["forehead"],
            appointment_id=booked.pk,
        )


def test_a_session_under_a_cancelled_appointment_is_refused(alice, booked) -> None:
    scheduling.cancel(factories.SYSTEM, booked.pk)
    response = Api(alice).post(
        "/sessions",
        {
            "client_id": booked.client_id,
            "device_id": booked.device_id,
            "zones": ["forehead"],
            "appointment_id": booked.pk,
        },
    )
    assert response.status_code == 409, response.json()
    assert response.json()["field"] == "appointment_id"


def test_the_clients_own_appointment_is_accepted(alice, booked) -> None:
    session = session_service.create(
        alice,
        client_id=booked.client_id,
        device_id=booked.device_id,
        zones=["forehead"],
        appointment_id=booked.pk,
    )
    assert session.appointment_id == booked.pk


# -- mass assignment: fields the server decides -----------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", "in-progress"),
        ("started_at", "2026-01-01T00:00:00Z"),
        ("screening_id", 1),
        ("consent_id", 1),
        ("plan", {"modality": "contact"}),
        ("created_by", 1),
        ("id", 999),
    ],
)
def test_api_a_session_body_with_a_field_the_server_decides_is_refused(alice, field, value) -> None:
    ready = factories.ready_session(alice)
    response = Api(alice).post(
        "/sessions",
        {
            "client_id": ready.client_id,
            "device_id": ready.device_id,
            "zones": ["forehead"],
            field: value,
        },
    )
    assert response.status_code == 422, response.json()
    assert response.json()["field"] == field
    assert TreatmentSession.objects.count() == 1


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/clients", {"created_by": 1}, "created_by"),
        ("/clients", {"id": 7}, "id"),
        ("/clients/{client}", {"reason": "typo", "id": 7}, "id"),
        (
            "/clients/{client}",
            {"reason": "typo", "created_at": "2020-01-01T00:00:00Z"},
            "created_at",
        ),
        ("/screenings/{screening}/signoffs", {"signed_by": "dora"}, "signed_by"),
        ("/screenings/{screening}/signoffs", {"second_clinician_id": 1}, "second_clinician_id"),
        ("/clients/{client}/screenings", {"answers": {}, "outcome": "clear"}, "outcome"),
        ("/clients/{client}/scores", {"recorded_by": 1}, "recorded_by"),
        ("/sessions/{session}/stop", {"exposure_s": 10, "status": "completed"}, "status"),
        ("/sessions/{session}/readings", {"readings": [], "session_id": 2}, "session_id"),
    ],
)
def test_api_bodies_refuse_fields_they_do_not_take_by_name(alice, path, body, field) -> None:
    ready = factories.ready_session(alice)
    done = factories.screen(alice, ready.client)
    target = path.format(client=ready.client_id, screening=done.pk, session=ready.pk)
    api = Api(alice)
    is_patch = target == f"/clients/{ready.client_id}"
    response = api.patch(target, body) if is_patch else api.post(target, body)
    assert response.status_code == 422, response.json()
    assert field in (response.json()["field"] or "") or field in response.json()["detail"]
