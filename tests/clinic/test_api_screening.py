"""/api/clients/{id}/screenings and /api/screenings/{id}/signoffs: answers in, verdict out;
bad answers name their field; refer findings are signed off by two distinct clinicians."""

from __future__ import annotations

from typing import Any

import pytest

from clinic.api_helpers import CLIENT, Api, actions_audited, director
from clinic.personas import PASSWORD
from cryoderm.clinic.records.models import ReferralSignOff, ScreeningResponse

pytestmark = pytest.mark.django_db

CLEAR = {
    "age_years": 42,
    "sex": "female",
    "fitzpatrick": 2,
    "blood_pressure_mmhg": [118, 76],
    "conditions": [],
    "recent_procedures": [],
}
REFER = {**CLEAR, "conditions": ["anticoagulants"]}


@pytest.fixture
def client_id(alice) -> int:
    return int(Api(alice).post("/clients", CLIENT).json()["id"])


def screen(user: Any, client_id: int, answers: dict[str, Any], **extra: Any) -> Any:
    return Api(user).post(f"/clients/{client_id}/screenings", {"answers": answers, **extra})


def test_clear_answers_give_a_clear_verdict_that_is_stored_and_audited(alice, client_id) -> None:
    response = screen(alice, client_id, CLEAR, modality="cold-air", zones=["forehead"])
    assert response.status_code == 201
    body = response.json()
    assert body["outcome"] == "clear"
    assert body["screened_by"] == "alice"
    assert body["verdict"]["format"] == "cryoderm-verdict/1"
    assert ScreeningResponse.objects.get().outcome == "clear"
    assert actions_audited()[-1] == "screening.submit"


def test_a_refer_condition_gives_a_refer_verdict_with_its_finding(alice, client_id) -> None:
    body = screen(alice, client_id, REFER).json()
    assert body["outcome"] == "refer"
    assert [f["rule_id"] for f in body["verdict"]["findings"]] == ["anticoagulants"]


@pytest.mark.parametrize(
    ("answers", "extra", "field"),
    [
        ({**CLEAR, "fitzpatrick": 9}, {}, "fitzpatrick"),
        ({k: v for k, v in CLEAR.items() if k != "conditions"}, {}, "conditions"),
        ({**CLEAR, "conditions": ["werewolf"]}, {}, "conditions"),
        (CLEAR, {"modality": "plasma"}, "modality"),
        (CLEAR, {"zones": ["elbow"]}, "zones"),
        ({**CLEAR, "note": "a\x00"}, {}, "answers"),
    ],
)
def test_bad_answers_are_refused_with_their_field_and_nothing_is_stored(
    alice, client_id, answers, extra, field
) -> None:
    response = screen(alice, client_id, answers, **extra)
    assert response.status_code == 422, response.json()
    assert response.json()["field"].startswith(field)
    assert not ScreeningResponse.objects.exists()


def test_screening_an_unknown_client_is_404(alice) -> None:
    assert screen(alice, 4242, CLEAR).status_code == 404


def test_front_desk_may_neither_screen_nor_read_screenings(alice, bob, client_id) -> None:
    screening_id = screen(alice, client_id, CLEAR).json()["id"]
    assert screen(bob, client_id, CLEAR).status_code == 403
    assert Api(bob).get(f"/clients/{client_id}/screenings").status_code == 403
    assert Api(bob).get(f"/screenings/{screening_id}").status_code == 403


def test_reading_screenings_is_audited(alice, client_id) -> None:
    first = screen(alice, client_id, CLEAR).json()["id"]
    second = screen(alice, client_id, REFER).json()["id"]
    listed = Api(alice).get(f"/clients/{client_id}/screenings")
    assert listed.status_code == 200
    assert {s["id"] for s in listed.json()} == {first, second}
    assert Api(alice).get(f"/screenings/{first}").json()["outcome"] == "clear"
    assert actions_audited()[-2:] == ["screening.read", "screening.read"]


class TestSignOff:
    def test_two_clinicians_sign_off_a_refer_finding(self, alice, client_id) -> None:
        dora = director()
        screening_id = screen(alice, client_id, REFER).json()["id"]
        response = Api(alice).post(
            f"/screenings/{screening_id}/signoffs",
            {
                "rule_id": "anticoagulants",
                "reason": "INR stable, GP letter on file",
                "second_clinician": dora.username,
                "second_password": PASSWORD,
            },
        )
        assert response.status_code == 201
        assert response.json()["second_clinician"] == "dora"
        again = Api(alice).get(f"/screenings/{screening_id}").json()
        assert [s["rule_id"] for s in again["signoffs"]] == ["anticoagulants"]

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"rule_id": "raynauds"}, "rule_id"),
            ({"second_clinician": "alice"}, "second_clinician"),
            ({"second_clinician": "bob"}, "second_clinician"),
            ({"second_clinician": "nobody"}, "second_password"),
            ({"second_password": "wrong"}, "second_password"),
            ({"reason": ""}, "reason"),
        ],
    )
    def test_a_sign_off_must_name_a_refer_finding_a_reason_and_another_clinician(
        self, alice, bob, client_id, change, field
    ) -> None:
        director()
        screening_id = screen(alice, client_id, REFER).json()["id"]
        body = {
            "rule_id": "anticoagulants",
            "reason": "GP letter",
            "second_clinician": "dora",
            "second_password": PASSWORD,
            **change,
        }
        response = Api(alice).post(f"/screenings/{screening_id}/signoffs", body)
        assert response.status_code == 422
        assert response.json()["field"] == field
        assert not ReferralSignOff.objects.exists()

    def test_signing_off_twice_is_a_conflict(self, alice, client_id) -> None:
        director()
        screening_id = screen(alice, client_id, REFER).json()["id"]
        body = {
            "rule_id": "anticoagulants",
            "reason": "GP letter",
            "second_clinician": "dora",
            "second_password": PASSWORD,
        }
        assert Api(alice).post(f"/screenings/{screening_id}/signoffs", body).status_code == 201
        again = Api(alice).post(f"/screenings/{screening_id}/signoffs", body)
        assert again.status_code == 409
        assert again.json()["field"] == "rule_id"

    def test_front_desk_may_not_sign_off(self, alice, bob, client_id) -> None:
        screening_id = screen(alice, client_id, REFER).json()["id"]
        body = {"rule_id": "anticoagulants", "reason": "x", "second_clinician": "alice"}
        assert Api(bob).post(f"/screenings/{screening_id}/signoffs", body).status_code == 403
