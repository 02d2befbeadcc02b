"""No sequence of API calls by one user opens a gate that the web refuses.

A hypothesis state machine plays one user of the clinic (alice, qualified for everything;
pat, whose qualifications have expired; or bob at the front desk) through random sequences
of API calls: registering clients (some with impossible birth dates), screening them (clear,
refer, do not treat; for some zones or modalities), trying to sign off refer findings alone
(no credentials, a wrong password, their own), signing consents (real strokes, a tap, the
wrong name), withdrawing them, creating sessions in their own or a colleague's name,
planning them for their own or other zones and modalities, and starting them.

Whenever the API starts a session, the web's own gate checklist for that user and session
(what the session page shows, and what its Start button asks) must have had every gate
open, and every refer finding of the client's screenings must carry a sign-off by two
different clinicians, the second authenticated: the only user acting never knows a
colleague's password, so no sign-off can exist at all."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from clinic import factories, personas
from clinic.api_helpers import Api, director
from cryoderm.clinic.accounts.permissions import PRACTITIONER, grant_role
from cryoderm.clinic.records.models import Consent, ReferralSignOff, TreatmentSession
from cryoderm.clinic.records.services import sessions as session_service

ZONES = ("forehead", "cheek", "chin")
MODALITIES = ("cold-air", "ln2-vapour", "contact")
ANSWERS = {
    "clear": factories.CLEAR_ANSWERS,
    "refer": {**factories.CLEAR_ANSWERS, "conditions": ["anticoagulants"]},
    "do-not-treat": {**factories.CLEAR_ANSWERS, "conditions": ["raynauds"]},
}


def clinic() -> dict[str, Any]:
    """The clinic every sequence starts from: staff, a calibrated device per modality and
    the consent texts."""
    pat = personas.make_user("pat", "Pat", "Price")
    grant_role(pat, PRACTITIONER)
    personas.make_practitioner(pat, valid_until=dt.date.today() - dt.timedelta(days=20))
    devices = {
        modality: factories.make_device(modality=modality, serial_number=f"D-{modality}")
        for modality in MODALITIES
    }
    factories.publish_texts()
    return {
        "users": {
            "alice": personas.alice(),
            "pat": pat,
            "bob": personas.bob(),
            "dora": director(),
        },
        "devices": devices,
    }


class OneUserThroughTheApi(RuleBasedStateMachine):
    world: dict[str, Any] = {}
    #: The one user acting in every sequence of a run.
    who = "alice"
    #: Sessions the API started over the whole run (the test is vacuous without some).
    started_in_all = 0

    clients = Bundle("clients")
    sessions = Bundle("sessions")

    def __init__(self) -> None:
        super().__init__()
        # Each sequence starts from the same clinic and leaves nothing behind.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    @initialize()
    def act_as(self) -> None:
        self.user = self.world["users"][self.who]
        self.api = Api(self.user)

    @rule(
        target=clients,
        born=st.sampled_from([dt.date(1980, 3, 1), dt.date(2031, 1, 1), dt.date(1850, 1, 1)]),
        n=st.integers(0, 10**6),
    )
    def register(self, born: dt.date, n: int) -> Any:
        response = self.api.post(
            "/clients",
            {
                "given_name": f"Client{n}",
                "family_name": "Doe",
                "date_of_birth": born.isoformat(),
                "confirm_new_person": True,
            },
        )
        assert response.status_code in (201, 403, 422), response.json()
        return response.json().get("id") if response.status_code == 201 else 0

    @rule(
        client=clients,
        verdict=st.sampled_from(list(ANSWERS)),
        modality=st.sampled_from([None, *MODALITIES]),
        zones=st.none() | st.lists(st.sampled_from(ZONES), min_size=1, max_size=3, unique=True),
    )
    def screen(self, client: int, verdict: str, modality: str | None, zones: Any) -> None:
        body: dict[str, Any] = {"answers": ANSWERS[verdict]}
        if modality:
            body["modality"] = modality
        if zones:
            body["zones"] = zones
        response = self.api.post(f"/clients/{client}/screenings", body)
        assert response.status_code in (201, 403, 404, 422), response.json()

    @rule(
        client=clients,
        second=st.sampled_from(
            [
                {"second_clinician": "dora"},
                {"second_clinician": "dora", "second_password": "guess"},
                {"second_clinician": "dora", "second_one_time_code": "123456"},
                {"second_clinician": "self", "second_password": personas.PASSWORD},
            ]
        ),
    )
    def sign_off_alone(self, client: int, second: dict[str, str]) -> None:
        screenings = self.api.get(f"/clients/{client}/screenings")
        if screenings.status_code != 200:
            return
        for found in screenings.json():
            if found["outcome"] != "refer":
                continue
            if second["second_clinician"] == "self":
                second = {**second, "second_clinician": self.user.username}
            body = {"rule_id": "anticoagulants", "reason": "I am sure", **second}
            response = self.api.post(f"/screenings/{found['id']}/signoffs", body)
            assert response.status_code in (403, 422), response.json()

    @rule(
        client=clients,
        signature=st.sampled_from([factories.SIGNATURE, "M 10 10 L 11 11", "M0"]),
        right_name=st.booleans(),
    )
    def sign_consent(self, client: int, signature: str, right_name: bool) -> None:
        record = self.api.get(f"/clients/{client}")
        if record.status_code != 200:
            return
        name = f"{record.json()['given_name']} Doe" if right_name else "x"
        response = self.api.post(
            f"/clients/{client}/consents",
            {"scope": "treatment", "signer_name": name, "signature": signature},
        )
        assert response.status_code in (201, 403, 422), response.json()

    @rule(client=clients, confirm=st.booleans(), error=st.booleans())
    def close_consent(self, client: int, confirm: bool, error: bool) -> None:
        for consent_id in Consent.objects.filter(client_id=client).values_list("pk", flat=True):
            kind = "entered-in-error" if error else "withdraw"
            body = {"reason": "changed", "confirm": confirm}
            response = self.api.post(f"/consents/{consent_id}/{kind}", body)
            assert response.status_code in (200, 403, 409, 422), response.json()

    @rule(
        target=sessions,
        client=clients,
        modality=st.sampled_from(MODALITIES),
        zones=st.lists(st.sampled_from(ZONES), min_size=1, max_size=2, unique=True),
        practitioner=st.sampled_from(["self", "alice", "dora"]),
        plan=st.booleans(),
    )
    def create_session(
        self, client: int, modality: str, zones: list[str], practitioner: str, plan: bool
    ) -> int:
        body: dict[str, Any] = {
            "client_id": client or 1,
            "device_id": self.world["devices"][modality].pk,
            "zones": zones,
        }
        if practitioner != "self":
            body["practitioner_id"] = self.world["users"][practitioner].practitioner.pk
        if plan:
            body["goals"] = ["skin-tone"]
        response = self.api.post("/sessions", body)
        assert response.status_code in (201, 403, 404, 409, 422), response.json()
        return response.json()["id"] if response.status_code == 201 else 0

    @rule(
        session=sessions,
        modality=st.sampled_from(MODALITIES),
        zones=st.lists(st.sampled_from(ZONES), min_size=1, max_size=2, unique=True),
    )
    def plan(self, session: int, modality: str, zones: list[str]) -> None:
        body = {"goals": ["skin-tone"], "zones": zones, "modality": modality}
        response = self.api.post("/plans", {**body, "session_id": session or 1})
        assert response.status_code in (200, 403, 404, 409, 422), response.json()

    @rule(session=sessions)
    def start(self, session: int) -> None:
        if not session:
            return
        web_would_start = session_service.check_gates(self.user, session).all_open
        response = self.api.post(f"/sessions/{session}/start")
        assert response.status_code in (200, 403, 409), response.json()
        if response.status_code == 200:
            type(self).started_in_all += 1
            assert web_would_start, "the API started a session the web's gates refuse"

    @rule(client=clients, modality=st.sampled_from(MODALITIES))
    def treat_properly(self, client: int, modality: str) -> None:
        """The whole honest path in one step: what the web allows, the API allows too."""
        if not client:
            return
        self.screen(client, "clear", None, None)
        self.sign_consent(client, factories.SIGNATURE, True)
        session = self.create_session(client, modality, ["cheek"], "self", True)
        if session:
            self.start(session)

    @invariant()
    def every_running_session_is_its_practitioners_with_its_own_plan(self) -> None:
        for running in TreatmentSession.objects.filter(status="in-progress").select_related(
            "practitioner", "device"
        ):
            assert running.practitioner.user_id == self.user.pk
            assert running.plan_screening_id == running.screening_id
            assert running.plan["modality"] == running.device.modality
            assert sorted(s["zone"] for s in running.plan["steps"]) == sorted(running.zones)

    @invariant()
    def nobody_signed_off_alone(self) -> None:
        assert not ReferralSignOff.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("who", "examples"), [("alice", 20), ("pat", 10), ("bob", 5)])
def test_no_sequence_of_api_calls_opens_a_gate_the_web_refuses(who: str, examples: int) -> None:
    OneUserThroughTheApi.world = clinic()
    OneUserThroughTheApi.who = who
    OneUserThroughTheApi.started_in_all = 0
    run_state_machine_as_test(
        OneUserThroughTheApi,
        settings=settings(
            max_examples=examples,
            stateful_step_count=14,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    if who == "alice":
        # alice is qualified for everything: her honest sequences must reach a start.
        assert OneUserThroughTheApi.started_in_all > 0
    else:
        # pat's qualifications expired and bob is at the front desk: nothing starts.
        assert OneUserThroughTheApi.started_in_all == 0
