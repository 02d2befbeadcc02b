"""/api/plans: the planner for a client's stored screening; refusals and bad input."""

from __future__ import annotations

import pytest

from clinic import factories
from clinic.api_helpers import Api, director

pytestmark = pytest.mark.django_db

REQUEST = {"goals": ["skin-tone"], "zones": ["cheek"], "modality": "cold-air"}


def screened(user, answers=None):
    client = factories.make_client(user)
    return factories.screen(user, client, answers)


def test_a_plan_for_a_clear_client_is_made_and_stored_on_the_session(alice) -> None:
    session = factories.ready_session(alice)
    screening = session.client.screenings.get()
    response = Api(alice).post(
        "/plans", {**REQUEST, "screening_id": screening.pk, "session_id": session.pk}
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["format"] == "cryoderm-plan/1"
    assert body["screening"] == "clear"
    assert [step["zone"] for step in body["steps"]] == ["cheek"]
    session.refresh_from_db()
    assert session.plan["format"] == "cryoderm-plan/1"


def test_a_refer_verdict_is_pending_until_signed_off(alice) -> None:
    screening = screened(alice, {**factories.CLEAR_ANSWERS, "conditions": ["anticoagulants"]})
    pending = Api(alice).post("/plans", {**REQUEST, "screening_id": screening.pk}).json()
    assert pending["pending_sign_off"] is True
    factories.sign_off(alice, screening, "anticoagulants", director(), reason="GP letter")
    signed = Api(alice).post("/plans", {**REQUEST, "screening_id": screening.pk}).json()
    assert signed["pending_sign_off"] is False


def test_a_do_not_treat_verdict_refuses_the_plan_with_409(alice) -> None:
    screening = screened(alice, {**factories.CLEAR_ANSWERS, "conditions": ["raynauds"]})
    response = Api(alice).post("/plans", {**REQUEST, "screening_id": screening.pk})
    assert response.status_code == 409
    assert "do-not-treat" in response.json()["detail"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"modality": "plasma"}, "modality"),
        ({"goals": []}, "goals"),
        ({"age_years": 12}, "age_years"),
        ({"goals": ["eternal-youth"]}, "goal"),
        ({"zones": ["elbow"]}, "zone"),
        ({"screening_id": 404}, "id"),
    ],
)
def test_bad_plan_requests_name_their_field(alice, change, field) -> None:
    response = Api(alice).post("/plans", {**REQUEST, **change})
    assert response.status_code in (404, 422), response.json()
    assert response.json()["field"].startswith(field)


def test_front_desk_may_not_plan(bob) -> None:
    assert Api(bob).post("/plans", REQUEST).status_code == 403
