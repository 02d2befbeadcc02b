"""/api/clients/{id}/scores, /measures, /outcomes and /consents."""

from __future__ import annotations

import pytest

from clinic import factories
from clinic.api_helpers import Api, actions_audited
from cryoderm.clinic.records.models import Consent, InstrumentalMeasure, OutcomeScore

pytestmark = pytest.mark.django_db

SCORE = {"rater": "clinician", "scale": "gais", "score": 2}
MEASURE = {
    "quantity": "tewl",
    "value": 12.5,
    "unit": "g/m2/h",
    "zone": "cheek",
    "instrument": "Tewameter TM 300",
}


@pytest.fixture
def client_id(alice) -> int:
    return factories.make_client(alice).pk


def test_scores_and_measures_are_recorded_and_read_back(alice, client_id) -> None:
    api = Api(alice)
    assert api.post(f"/clients/{client_id}/scores", SCORE).status_code == 201
    assert api.post(f"/clients/{client_id}/measures", MEASURE).status_code == 201
    body = api.get(f"/clients/{client_id}/outcomes").json()
    assert [s["score"] for s in body["scores"]] == [2.0]
    assert [(m["quantity"], m["unit"]) for m in body["measures"]] == [("tewl", "g/m2/h")]
    assert actions_audited()[-1] == "outcome.read"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("scores", {**SCORE, "score": 9}, "score"),
        ("scores", {**SCORE, "scale": "beauty-0-100"}, "scale"),
        ("scores", {**SCORE, "score": 2.5}, "score"),
        ("scores", {**SCORE, "score": -5}, "score"),
        ("measures", {**MEASURE, "value": -5}, "value"),
        ("measures", {**MEASURE, "value": 1e9}, "value"),
        ("scores", {**SCORE, "score": "NaN"}, "score"),
        ("scores", {**SCORE, "rater": "robot"}, "rater"),
        ("measures", {**MEASURE, "unit": "°C"}, "unit"),
        ("measures", {**MEASURE, "zone": "elbow"}, "zone"),
        ("measures", {**MEASURE, "quantity": "shine"}, "quantity"),
    ],
)
def test_bad_outcomes_are_refused_with_their_field_and_not_stored(
    alice, client_id, path, body, field
) -> None:
    response = Api(alice).post(f"/clients/{client_id}/{path}", body)
    assert response.status_code == 422, response.json()
    assert response.json()["field"] == field
    assert not OutcomeScore.objects.exists()
    assert not InstrumentalMeasure.objects.exists()


def test_a_session_of_another_client_is_refused(alice, client_id) -> None:
    other_session = factories.ready_session(alice)
    response = Api(alice).post(
        f"/clients/{client_id}/scores", {**SCORE, "session_id": other_session.pk}
    )
    assert response.status_code == 422
    assert response.json()["field"] == "session"


def test_front_desk_neither_records_nor_reads_outcomes(bob, client_id) -> None:
    assert Api(bob).post(f"/clients/{client_id}/scores", SCORE).status_code == 403
    assert Api(bob).get(f"/clients/{client_id}/outcomes").status_code == 403


def test_a_consent_is_signed_under_the_current_text(alice, bob, client_id) -> None:
    factories.publish_texts()
    response = Api(bob).post(
        f"/clients/{client_id}/consents",
        {"scope": "photos", "signer_name": "Dana Doe", "signature": factories.SIGNATURE},
    )
    assert response.status_code == 201
    assert response.json()["scope"] == "photos"
    assert Consent.objects.get().witnessed_by == bob


def test_a_consent_without_a_published_text_is_a_conflict(alice, client_id) -> None:
    response = Api(alice).post(
        f"/clients/{client_id}/consents",
        {"scope": "treatment", "signer_name": "Dana Doe", "signature": factories.SIGNATURE},
    )
    assert response.status_code == 409
    assert response.json()["field"] == "scope"
    assert not Consent.objects.exists()


def test_outcomes_of_an_unknown_client_are_404(alice) -> None:
    assert Api(alice).get("/clients/5150/outcomes").status_code == 404
    assert Api(alice).post("/clients/5150/scores", SCORE).status_code == 404
