"""Every correction is an audited edit that keeps the earlier value: clients, devices,
calibrations, outcomes and consents, through the API and the pages; the history is visible."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client as Browser
from django.urls import reverse

from clinic import factories
from clinic.api_helpers import CLIENT, Api, actions_audited, director
from cryoderm.clinic.records.errors import InvalidRecord
from cryoderm.clinic.records.models import CalibrationRecord, Client, Correction
from cryoderm.clinic.records.services import clients as client_service
from cryoderm.clinic.records.services import outcomes as outcome_service
from cryoderm.clinic.records.services import sessions as session_service

pytestmark = pytest.mark.django_db


def signed_in(user: Any) -> Browser:
    browser = Browser()
    browser.force_login(user)
    return browser


class TestClient:
    def test_api_a_correction_keeps_the_earlier_value_and_its_reason(self, bob) -> None:
        client_id = Api(bob).post("/clients", CLIENT).json()["id"]
        response = Api(bob).patch(
            f"/clients/{client_id}",
            {"date_of_birth": "1985-12-01", "reason": "typed 10 for 01 at registration"},
        )
        assert response.status_code == 200
        assert response.json()["date_of_birth"] == "1985-12-01"
        history = Api(bob).get(f"/clients/{client_id}/corrections").json()
        assert history[0]["changes"] == {
            "date_of_birth": {"from": "1985-12-10", "to": "1985-12-01"}
        }
        assert history[0]["reason"] == "typed 10 for 01 at registration"
        assert history[0]["corrected_by"].endswith(":bob")
        assert "client.update" in actions_audited()

    def test_api_a_correction_needs_a_reason(self, bob) -> None:
        client_id = Api(bob).post("/clients", CLIENT).json()["id"]
        response = Api(bob).patch(f"/clients/{client_id}", {"phone": "+44 1"})
        assert response.status_code == 422
        assert response.json()["field"] == "reason"

    def test_api_a_name_set_to_nothing_is_bad_input_not_a_crash(self, bob) -> None:
        client_id = Api(bob).post("/clients", CLIENT).json()["id"]
        response = Api(bob).patch(f"/clients/{client_id}", {"family_name": None, "reason": "x"})
        assert response.status_code == 422
        assert response.json()["field"] == "family_name"

    def test_api_a_correction_into_the_future_is_refused(self, bob) -> None:
        client_id = Api(bob).post("/clients", CLIENT).json()["id"]
        response = Api(bob).patch(
            f"/clients/{client_id}", {"date_of_birth": "2031-01-01", "reason": "x"}
        )
        assert response.status_code == 422
        assert response.json()["field"] == "date_of_birth"
        assert not Correction.objects.exists()

    def test_page_the_correction_form_shows_the_history(self, bob) -> None:
        client = factories.make_client(bob)
        url = reverse("web:client_correct", args=[client.pk])
        form = signed_in(bob).get(url).context["form"]
        data = {k: v for k, v in form.initial.items() if v is not None and k != "id"}
        data.update(
            {"date_of_birth": "1984-05-18", "reason": "birth certificate seen", "sex": "female"}
        )
        assert signed_in(bob).post(url, data).status_code == 302
        client.refresh_from_db()
        assert client.date_of_birth == dt.date(1984, 5, 18)
        page = signed_in(bob).get(reverse("web:client", args=[client.pk])).content.decode()
        assert "birth certificate seen" in page and "1984-05-17" in page

    def test_service_nothing_to_correct_is_refused(self, alice) -> None:
        client = factories.make_client(alice)
        with pytest.raises(InvalidRecord) as refused:
            client_service.update(alice, client.pk, given_name="Dana", reason="no change")
        assert refused.value.field == "changes"


class TestDeviceAndCalibration:
    def test_api_correcting_a_calibration_judges_it_again_and_closes_the_gate(self, alice) -> None:
        session = factories.ready_session(alice)
        calibration = CalibrationRecord.objects.get(device=session.device)
        dora = director()
        response = Api(dora).patch(
            f"/calibrations/{calibration.pk}",
            {"max_error_c": 7.5, "reason": "certificate says 7.5 K, not 0.2 K"},
        )
        assert response.status_code == 200, response.json()
        assert response.json()["passed"] is False
        closed = {g.name for g in session_service.check_gates(alice, session.pk).closed}
        assert closed == {"device-calibrated"}
        history = Api(dora).get(f"/devices/{session.device_id}/corrections").json()
        assert history[0]["changes"]["passed"] == {"from": True, "to": False}
        assert history[0]["changes"]["max_error_c"] == {"from": 0.2, "to": 7.5}

    def test_api_passed_cannot_be_corrected_by_hand(self) -> None:
        device = factories.make_device()
        calibration = CalibrationRecord.objects.get(device=device)
        response = Api(director()).patch(
            f"/calibrations/{calibration.pk}", {"reason": "x", "passed": False}
        )
        assert response.status_code in (200, 422)
        calibration.refresh_from_db()
        assert calibration.passed is True

    def test_api_a_device_correction_keeps_the_earlier_value(self) -> None:
        device = factories.make_device()
        dora = director()
        response = Api(dora).patch(
            f"/devices/{device.pk}",
            {"calibration_tolerance_k": 0.3, "reason": "manufacturer's datasheet: 0.3 K"},
        )
        assert response.status_code == 200
        assert response.json()["calibration_tolerance_k"] == 0.3
        history = Api(dora).get(f"/devices/{device.pk}/corrections").json()
        assert history[0]["changes"]["calibration_tolerance_k"] == {"from": 0.5, "to": 0.3}

    @pytest.mark.parametrize("persona", ["alice", "bob"])
    def test_api_only_device_managers_correct_devices(self, persona, request) -> None:
        device = factories.make_device()
        user = request.getfixturevalue(persona)
        body = {"notes": "x", "reason": "y"}
        assert Api(user).patch(f"/devices/{device.pk}", body).status_code == 403

    def test_page_a_calibration_is_corrected_on_its_page(self) -> None:
        device = factories.make_device()
        calibration = CalibrationRecord.objects.get(device=device)
        dora = director()
        url = reverse("web:calibration_correct", args=[calibration.pk])
        response = signed_in(dora).post(
            url,
            {
                "performed_on": calibration.performed_on.isoformat(),
                "performed_by": calibration.performed_by,
                "reference_instrument": calibration.reference_instrument,
                "max_error_c": "0.9",
                "reason": "re-read the certificate",
            },
        )
        assert response.status_code == 302
        calibration.refresh_from_db()
        assert calibration.passed is False
        page = signed_in(dora).get(reverse("web:device", args=[device.pk])).content.decode()
        assert "re-read the certificate" in page


class TestOutcomes:
    def test_api_a_score_and_a_measure_are_corrected_within_their_range(self, alice) -> None:
        client = factories.make_client(alice)
        score = outcome_service.record_score(
            alice, client.pk, rater="client", scale="gais", score=2
        )
        measure = outcome_service.record_measure(
            alice, client.pk, quantity="tewl", value=12.0, unit="g/m2/h", zone="cheek"
        )
        api = Api(alice)
        assert api.patch(f"/scores/{score.pk}", {"score": 9, "reason": "x"}).status_code == 422
        fixed = api.patch(f"/scores/{score.pk}", {"score": 3, "reason": "client said 3"})
        assert fixed.status_code == 200 and fixed.json()["score"] == 3
        moved = api.patch(f"/measures/{measure.pk}", {"value": 21.0, "reason": "decimal slip"})
        assert moved.status_code == 200
        history = api.get(f"/clients/{client.pk}/corrections").json()
        assert [h["target"] for h in history] == [
            "records.outcomescore",
            "records.instrumentalmeasure",
        ]

    def test_api_the_front_desk_cannot_correct_outcomes(self, alice, bob) -> None:
        client = factories.make_client(alice)
        score = outcome_service.record_score(
            alice, client.pk, rater="client", scale="gais", score=2
        )
        assert Api(bob).patch(f"/scores/{score.pk}", {"score": 3, "reason": "x"}).status_code == 403

    def test_page_a_score_is_corrected(self, alice) -> None:
        client = factories.make_client(alice)
        score = outcome_service.record_score(
            alice, client.pk, rater="client", scale="gais", score=2
        )
        response = signed_in(alice).post(
            reverse("web:score_correct", args=[score.pk]),
            {"score": "4", "rater": "client", "notes": "", "reason": "read back to the client"},
        )
        assert response.status_code == 302
        score.refresh_from_db()
        assert score.score == 4


class TestConsent:
    def test_api_a_consent_recorded_by_mistake_is_voided_and_no_longer_counts(self, alice) -> None:
        session = factories.ready_session(alice)
        consent = session.client.consents.get()
        response = Api(alice).post(
            f"/consents/{consent.pk}/entered-in-error",
            {"reason": "signed on the wrong client's record", "confirm": True},
        )
        assert response.status_code == 200
        assert response.json()["entered_in_error_at"] is not None
        consent.refresh_from_db()
        assert consent.signer_name == session.client.full_name  # what was signed stays
        closed = {g.name for g in session_service.check_gates(alice, session.pk).closed}
        assert closed == {"consent-signed"}
        history = Api(alice).get(f"/clients/{session.client_id}/corrections").json()
        assert history[-1]["changes"] == {"status": {"from": "signed", "to": "entered in error"}}


def test_every_client_correction_is_one_audit_entry_with_its_reason(alice) -> None:
    client = factories.make_client(alice)
    client_service.update(alice, client.pk, phone="+44 20 7946 0002", reason="new number")
    assert Client.objects.get().phone == "+44 20 7946 0002"
    assert actions_audited()[-1] == "client.update"
