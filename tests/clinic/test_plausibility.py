"""Records that cannot lie: every reported implausible record is refused, through the API,
the pages and the services, and by every role.

Reported: a calibration dated three months ahead with a 7.5 K error, ticked passed, reopened
an overdue liquid-nitrogen wand; a consent "signed" by one tap with signer "x", withdrawn by
one click without confirmation or reason, and by the front desk; a 2031 date of birth;
duplicate clients; outcome values of -5 and 10^9."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client as Browser
from django.urls import reverse

from clinic import factories
from clinic.api_helpers import CLIENT, Api, director
from cryoderm.clinic.records.errors import Conflict, InvalidRecord
from cryoderm.clinic.records.models import CalibrationRecord, Client, Consent, Device, OutcomeScore
from cryoderm.clinic.records.services import clients as client_service
from cryoderm.clinic.records.services import consent as consent_service
from cryoderm.clinic.records.services import devices as device_service
from cryoderm.clinic.records.services import sessions as session_service

pytestmark = pytest.mark.django_db

TODAY = dt.date.today()
AHEAD = TODAY + dt.timedelta(days=90)


def signed_in(user: Any) -> Browser:
    browser = Browser()
    browser.force_login(user)
    return browser


def overdue_ln2(actor: Any = factories.SYSTEM) -> Device:
    return factories.make_device(
        modality="ln2-vapour", serial_number="NV-0042", calibrated_days_ago=400
    )


class TestCalibration:
    BODY = {
        "performed_by": "Metrology Ltd",
        "reference_instrument": "reference thermometer",
        "max_error_c": 0.2,
    }

    def test_api_a_calibration_dated_ahead_is_refused(self) -> None:
        wand = overdue_ln2()
        body = {**self.BODY, "performed_on": AHEAD.isoformat()}
        response = Api(director()).post(f"/devices/{wand.pk}/calibrations", body)
        assert response.status_code == 422
        assert response.json()["field"] == "performed_on"
        assert wand.calibration_due_on() < TODAY

    def test_api_a_7_5_k_error_ticked_passed_is_refused(self) -> None:
        wand = overdue_ln2()
        body = {
            **self.BODY,
            "performed_on": TODAY.isoformat(),
            "max_error_c": 7.5,
            "passed": True,
        }
        response = Api(director()).post(f"/devices/{wand.pk}/calibrations", body)
        assert response.status_code == 422
        assert response.json()["field"] == "passed"
        assert "beyond the device's tolerance of 0.5 K" in response.json()["detail"]

    def test_api_a_7_5_k_error_is_recorded_as_failed_and_the_gate_stays_closed(self, alice) -> None:
        session = factories.ready_session(alice, modality="ln2-vapour", calibrated_days_ago=400)
        body = {**self.BODY, "performed_on": TODAY.isoformat(), "max_error_c": 7.5}
        response = Api(director()).post(f"/devices/{session.device_id}/calibrations", body)
        assert response.status_code == 201
        assert response.json()["passed"] is False
        closed = {g.name for g in session_service.check_gates(alice, session.pk).closed}
        assert "device-calibrated" in closed

    def test_page_a_calibration_ahead_with_a_large_error_is_refused(self) -> None:
        wand = overdue_ln2()
        page = signed_in(director()).post(
            reverse("web:device", args=[wand.pk]),
            {
                "c-performed_on": AHEAD.isoformat(),
                "c-performed_by": "Metrology Ltd",
                "c-reference_instrument": "reference thermometer",
                "c-max_error_c": "7.5",
                "record_calibration": "1",
            },
        )
        assert page.status_code == 200
        assert "is in the future" in page.context["calibration_form"].errors["performed_on"][0]
        assert CalibrationRecord.objects.filter(device=wand).count() == 1

    def test_service_the_tolerance_is_the_devices(self) -> None:
        precise = factories.make_device(serial_number="CA-9", calibrated_days_ago=None)
        Device.objects.filter(pk=precise.pk).update(calibration_tolerance_k=0.1)
        record = device_service.record_calibration(
            factories.SYSTEM,
            precise.pk,
            performed_on=TODAY,
            performed_by="x",
            reference_instrument="y",
            max_error_c=0.3,
        )
        assert record.passed is False

    @pytest.mark.parametrize("persona", ["alice", "bob", "charlie"])
    def test_roles_without_maintenance_may_not_calibrate(self, persona, request) -> None:
        wand = overdue_ln2()
        body = {**self.BODY, "performed_on": TODAY.isoformat()}
        user = request.getfixturevalue(persona)
        assert Api(user).post(f"/devices/{wand.pk}/calibrations", body).status_code == 403


class TestConsent:
    TAP = "M 100 50 L 100.5 50.2"

    def test_api_one_tap_and_signer_x_are_refused(self, alice) -> None:
        client = factories.make_client(alice)
        factories.publish_texts()
        url = f"/clients/{client.pk}/consents"
        tap = Api(alice).post(
            url, {"scope": "treatment", "signer_name": client.full_name, "signature": self.TAP}
        )
        assert tap.status_code == 422
        assert tap.json()["field"] == "signature"
        x = Api(alice).post(
            url, {"scope": "treatment", "signer_name": "x", "signature": factories.SIGNATURE}
        )
        assert x.status_code == 422
        assert x.json()["field"] == "signer_name"
        assert not Consent.objects.exists()

    def test_api_a_path_with_markup_is_not_a_signature(self, alice) -> None:
        client = factories.make_client(alice)
        factories.publish_texts()
        hostile = factories.SIGNATURE + '"/><script>alert(1)</script>'
        response = Api(alice).post(
            f"/clients/{client.pk}/consents",
            {"scope": "treatment", "signer_name": client.full_name, "signature": hostile},
        )
        assert response.status_code == 422

    def test_page_one_tap_is_refused_next_to_the_signature(self, alice) -> None:
        factories.publish_texts()
        client = factories.make_client(alice)
        url = reverse("web:consent_sign", args=[client.pk, "treatment"])
        text = consent_service.current_text("treatment")
        page = signed_in(alice).post(
            url,
            {
                "text_sha256": text.sha256,
                "signer_name": client.full_name,
                "signature": self.TAP,
                "read_confirmed": "on",
            },
        )
        assert "not a signature" in page.context["form"].errors["signature"][0]
        assert not Consent.objects.exists()

    def test_api_withdrawal_needs_confirmation_and_a_reason(self, alice) -> None:
        signed = factories.sign_consent(alice, factories.make_client(alice))
        url = f"/consents/{signed.pk}/withdraw"
        unconfirmed = Api(alice).post(url, {"reason": "changed her mind", "confirm": False})
        assert unconfirmed.status_code == 422
        assert unconfirmed.json()["field"] == "confirm"
        no_reason = Api(alice).post(url, {"reason": "", "confirm": True})
        assert no_reason.status_code == 422
        signed.refresh_from_db()
        assert signed.withdrawn_at is None
        done = Api(alice).post(url, {"reason": "changed her mind", "confirm": True})
        assert done.status_code == 200
        assert done.json()["withdrawal_reason"] == "changed her mind"

    @pytest.mark.parametrize("persona", ["bob", "charlie"])
    def test_api_the_front_desk_may_not_withdraw(self, alice, persona, request) -> None:
        signed = factories.sign_consent(alice, factories.make_client(alice))
        user = request.getfixturevalue(persona)
        body = {"reason": "asked at the desk", "confirm": True}
        assert Api(user).post(f"/consents/{signed.pk}/withdraw", body).status_code == 403
        signed.refresh_from_db()
        assert signed.withdrawn_at is None

    def test_page_one_click_does_not_withdraw(self, alice, bob) -> None:
        signed = factories.sign_consent(alice, factories.make_client(alice))
        url = reverse("web:consent", args=[signed.pk])
        signed_in(alice).post(url, {"withdraw": "1"})
        signed_in(bob).post(url, {"withdraw": "1", "w-reason": "desk", "w-confirm": "on"})
        signed.refresh_from_db()
        assert signed.withdrawn_at is None
        signed_in(alice).post(url, {"withdraw": "1", "w-reason": "moving away", "w-confirm": "on"})
        signed.refresh_from_db()
        assert signed.withdrawal_reason == "moving away" and signed.withdrawn_by == alice

    def test_service_the_front_desk_may_not_withdraw(self, alice, bob) -> None:
        signed = factories.sign_consent(alice, factories.make_client(alice))
        with pytest.raises(Exception, match=r"may not consent\.withdraw"):
            consent_service.withdraw(bob, signed.pk, reason="desk", confirmed=True)


class TestClient:
    def test_api_a_date_of_birth_in_2031_is_refused(self, alice) -> None:
        response = Api(alice).post("/clients", {**CLIENT, "date_of_birth": "2031-04-01"})
        assert response.status_code == 422
        assert response.json()["field"] == "date_of_birth"
        old = Api(alice).post("/clients", {**CLIENT, "date_of_birth": "1850-04-01"})
        assert old.status_code == 422
        assert not Client.objects.exists()

    def test_page_a_date_of_birth_in_2031_is_refused(self, bob) -> None:
        page = signed_in(bob).post(
            reverse("web:client_new"),
            {
                "given_name": "Ada",
                "family_name": "Lovelace",
                "date_of_birth": "2031-04-01",
                "sex": "female",
            },
        )
        assert "in the future" in page.context["form"].errors["date_of_birth"][0]

    def test_api_a_duplicate_is_flagged_until_confirmed(self, bob) -> None:
        assert Api(bob).post("/clients", CLIENT).status_code == 201
        again = Api(bob).post("/clients", {**CLIENT, "given_name": "ADA ", "phone": ""})
        assert again.status_code == 409
        assert again.json()["field"] == "confirm_new_person"
        assert "Ada Lovelace" in again.json()["detail"]
        confirmed = Api(bob).post("/clients", {**CLIENT, "confirm_new_person": True})
        assert confirmed.status_code == 201
        flagged = Api(bob).get(f"/clients/{confirmed.json()['id']}").json()
        assert flagged["possible_duplicates"] == [Client.objects.order_by("pk").first().pk]

    def test_page_a_duplicate_asks_for_confirmation(self, bob) -> None:
        fields = {
            "given_name": "Ada",
            "family_name": "Lovelace",
            "date_of_birth": "1985-12-10",
            "sex": "female",
        }
        assert signed_in(bob).post(reverse("web:client_new"), fields).status_code == 302
        page = signed_in(bob).post(reverse("web:client_new"), fields)
        assert page.status_code == 200
        assert "This is another person" in page.content.decode()
        assert Client.objects.count() == 1
        confirmed = signed_in(bob).post(
            reverse("web:client_new"), {**fields, "confirm_new_person": "on"}
        )
        assert confirmed.status_code == 302
        assert Client.objects.count() == 2

    def test_service_a_duplicate_email_is_flagged(self, alice) -> None:
        factories.make_client(alice, email="dana@example.org")
        with pytest.raises(Conflict):
            factories.make_client(
                alice,
                confirm_new_person=False,
                given_name="Other",
                date_of_birth=dt.date(1990, 1, 1),
                email="DANA@example.org",
            )


class TestOutcomes:
    @pytest.mark.parametrize(
        ("path", "body", "field"),
        [
            ("scores", {"rater": "client", "scale": "gais", "score": -5}, "score"),
            ("scores", {"rater": "client", "scale": "gais", "score": 1e9}, "score"),
            (
                "measures",
                {"quantity": "tewl", "value": 1e9, "unit": "g/m2/h", "zone": "cheek"},
                "value",
            ),
            (
                "measures",
                {"quantity": "elasticity", "value": -5, "unit": "ratio", "zone": "cheek"},
                "value",
            ),
        ],
    )
    def test_api_values_outside_the_defined_range_are_refused(
        self, alice, path, body, field
    ) -> None:
        client = factories.make_client(alice)
        response = Api(alice).post(f"/clients/{client.pk}/{path}", body)
        assert response.status_code == 422
        assert response.json()["field"] == field

    def test_page_a_score_of_minus_5_is_refused(self, alice) -> None:
        client = factories.make_client(alice)
        page = signed_in(alice).post(
            reverse("web:outcome_new", args=[client.pk]),
            {"record_score": "1", "s-scale": "gais", "s-score": "-5", "s-rater": "client"},
        )
        assert "outside the scale" in page.context["score_form"].errors["score"][0]
        assert not OutcomeScore.objects.exists()

    def test_service_a_time_ahead_is_refused(self, alice) -> None:
        from cryoderm.clinic.records.services import outcomes

        client = factories.make_client(alice)
        with pytest.raises(InvalidRecord) as refused:
            outcomes.record_score(
                alice,
                client.pk,
                rater="client",
                scale="gais",
                score=2,
                at=dt.datetime.now(dt.UTC) + dt.timedelta(days=30),
            )
        assert refused.value.field == "assessed_at"


def test_a_qualification_issued_in_the_future_is_refused(alice) -> None:
    from cryoderm.clinic.records.services import staff

    with pytest.raises(InvalidRecord) as refused:
        staff.add_qualification(
            factories.SYSTEM,
            alice.practitioner,
            modality="contact",
            title="Course",
            issuer="Academy",
            issued_on=AHEAD,
            expires_on=AHEAD + dt.timedelta(days=365),
        )
    assert refused.value.field == "issued_on"


def test_the_client_registration_service_keeps_its_rules_for_scripts(alice) -> None:
    with pytest.raises(InvalidRecord):
        client_service.create(
            "cli:import", given_name="A", family_name="B", date_of_birth=dt.date(2031, 1, 1)
        )
