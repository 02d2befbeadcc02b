"""Two-clinician sign-off by two people, in every path.

The reported bypass: ``POST /api/screenings/{id}/signoffs`` took the second clinician's
username and never asked them to authenticate, so one person signed for two. The sign-off
service now authenticates the second clinician itself (password or one-time code), so the
page, the API and the demo all go through the same check.

Personas: alice (practitioner) signs; dora (medical director, a practitioner too) confirms;
bob (front desk) and charlie (no role) may do neither."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client as Browser
from django.urls import reverse

from clinic import factories, personas
from clinic.api_helpers import Api, director
from cryoderm.clinic.accounts import tokens
from cryoderm.clinic.accounts.errors import PermissionRefused
from cryoderm.clinic.audit.models import AuditEntry
from cryoderm.clinic.records.errors import InvalidRecord
from cryoderm.clinic.records.models import ReferralSignOff
from cryoderm.clinic.records.services import screening as screening_service

pytestmark = pytest.mark.django_db

REFER = {**factories.CLEAR_ANSWERS, "conditions": ["anticoagulants"]}


@pytest.fixture
def referred(alice: Any) -> Any:
    return factories.screen(alice, factories.make_client(alice), REFER)


@pytest.fixture
def dora(db: None) -> Any:
    return director()


def api_sign_off(user: Any, screening: Any, **second: str) -> Any:
    body = {"rule_id": "anticoagulants", "reason": "INR stable, GP letter on file", **second}
    return Api(user).post(f"/screenings/{screening.pk}/signoffs", body)


class TestApi:
    def test_a_username_alone_does_not_sign_off(self, alice, dora, referred) -> None:
        response = api_sign_off(alice, referred, second_clinician="dora")
        assert response.status_code == 422
        assert response.json()["field"] == "second_password"
        assert not ReferralSignOff.objects.exists()

    def test_a_wrong_password_does_not_sign_off_and_counts_as_a_failed_sign_in(
        self, alice, dora, referred
    ) -> None:
        from cryoderm.clinic.accounts.models import LoginFailure

        response = api_sign_off(alice, referred, second_clinician="dora", second_password="guess")
        assert response.status_code == 422
        assert response.json()["field"] == "second_password"
        assert not ReferralSignOff.objects.exists()
        assert LoginFailure.objects.filter(username="dora").count() == 1

    def test_the_second_clinicians_password_signs_off(self, alice, dora, referred) -> None:
        response = api_sign_off(
            alice, referred, second_clinician="dora", second_password=personas.PASSWORD
        )
        assert response.status_code == 201, response.json()
        signoff = ReferralSignOff.objects.get()
        assert (signoff.signed_by, signoff.second_clinician) == (alice, dora)
        entry = AuditEntry.objects.filter(action="screening.sign_off").get()
        assert json.loads(entry.detail)["confirmed_by"] == "password"
        assert personas.PASSWORD not in str(entry.detail)

    def test_the_second_clinicians_one_time_code_signs_off(self, alice, dora, referred) -> None:
        response = api_sign_off(
            alice,
            referred,
            second_clinician="dora",
            second_one_time_code=personas.one_time_code(dora),
        )
        assert response.status_code == 201, response.json()
        entry = AuditEntry.objects.filter(action="screening.sign_off").get()
        assert json.loads(entry.detail)["confirmed_by"] == "one-time code"

    def test_a_wrong_one_time_code_does_not_sign_off(self, alice, dora, referred) -> None:
        personas.enrol_authenticator(dora)
        response = api_sign_off(
            alice, referred, second_clinician="dora", second_one_time_code="000000"
        )
        assert response.status_code == 422
        assert not ReferralSignOff.objects.exists()

    def test_the_signer_cannot_confirm_their_own_sign_off(self, alice, dora, referred) -> None:
        response = api_sign_off(
            alice, referred, second_clinician="alice", second_password=personas.PASSWORD
        )
        assert response.status_code == 422
        assert response.json()["field"] == "second_clinician"

    def test_a_front_desk_colleague_cannot_be_the_second_clinician(
        self, alice, bob, referred
    ) -> None:
        response = api_sign_off(
            alice, referred, second_clinician="bob", second_password=personas.PASSWORD
        )
        assert response.status_code == 422
        assert response.json()["field"] == "second_clinician"
        assert not ReferralSignOff.objects.exists()

    @pytest.mark.parametrize("persona", ["bob", "charlie"])
    def test_roles_without_override_may_not_sign(self, persona, request, dora, referred) -> None:
        user = request.getfixturevalue(persona)
        response = api_sign_off(
            user, referred, second_clinician="dora", second_password=personas.PASSWORD
        )
        assert response.status_code == 403

    def test_a_device_token_may_not_sign(self, alice, dora, referred) -> None:
        device = factories.make_device()
        token = tokens.issue("sensor", user=dora, device=device).plaintext
        body = {
            "rule_id": "anticoagulants",
            "reason": "r",
            "second_clinician": "alice",
            "second_password": personas.PASSWORD,
        }
        response = Api(token=token).post(f"/screenings/{referred.pk}/signoffs", body)
        assert response.status_code == 403


class TestPage:
    def post(self, user: Any, screening: Any, **second: str) -> Any:
        browser = Browser()
        browser.force_login(user)
        return browser.post(
            reverse("web:screening", args=[screening.pk]),
            {"rule_id": "anticoagulants", "reason": "INR stable", **second},
        )

    def test_a_username_alone_does_not_sign_off(self, alice, dora, referred) -> None:
        page = self.post(alice, referred, second_username="dora")
        assert page.status_code == 200
        assert "password or a one-time code" in page.content.decode()
        assert not ReferralSignOff.objects.exists()

    def test_the_second_clinicians_password_signs_off(self, alice, dora, referred) -> None:
        page = self.post(alice, referred, second_username="dora", second_password=personas.PASSWORD)
        assert page.status_code == 302
        assert ReferralSignOff.objects.get().second_clinician == dora

    def test_front_desk_is_refused(self, bob, dora, referred) -> None:
        page = self.post(bob, referred, second_username="dora", second_password=personas.PASSWORD)
        assert page.status_code == 403
        assert not ReferralSignOff.objects.exists()


class TestService:
    """What the demo and any command call: the same service, the same proof."""

    def test_a_second_user_object_is_not_proof(self, alice, dora, referred) -> None:
        with pytest.raises(InvalidRecord) as refused:
            screening_service.sign_off(
                alice,
                referred.pk,
                "anticoagulants",
                reason="r",
                second=screening_service.SecondClinician("dora"),
            )
        assert refused.value.field == "second_password"

    def test_a_one_time_code_without_an_authenticator_is_refused(
        self, alice, dora, referred
    ) -> None:
        with pytest.raises(InvalidRecord) as refused:
            screening_service.sign_off(
                alice,
                referred.pk,
                "anticoagulants",
                reason="r",
                second=screening_service.SecondClinician("dora", one_time_code="123456"),
            )
        assert refused.value.field == "second_password"
        assert not ReferralSignOff.objects.exists()

    def test_the_signer_needs_the_override_permission(self, bob, dora, referred) -> None:
        with pytest.raises(PermissionRefused):
            screening_service.sign_off(
                bob,
                referred.pk,
                "anticoagulants",
                reason="r",
                second=screening_service.SecondClinician("dora", password=personas.PASSWORD),
            )

    def test_the_credentials_never_appear_in_a_repr(self) -> None:
        second = screening_service.SecondClinician("dora", password="s3cret", one_time_code="42")
        assert "s3cret" not in repr(second) and "42" not in repr(second)
