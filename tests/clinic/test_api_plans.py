"""/api/plans: the planning service behind the API; refusals and bad input.

The reported bypass: ``POST /api/plans`` accepted another client's screening and any modality
or zones, stored the plan on any planned session, and the live runtime then guarded a
cold-air cheek session with a contact forehead floor (0 °C instead of 2 °C, 900 s instead of
180 s). Now the caller names only the goals (and the client or the session): the screening,
age and sex come from the record, and a session is planned only for its own zones and its
device's modality."""

from __future__ import annotations

import datetime as dt

import pytest

from clinic import factories
from clinic.api_helpers import Api, director
from cryoderm.clinic.records.models import ScreeningResponse

pytestmark = pytest.mark.django_db

REQUEST = {"goals": ["skin-tone"], "zones": ["cheek"], "modality": "cold-air"}


def screened(user, answers=None, **fields):
    client = factories.make_client(user, **fields)
    factories.screen(user, client, answers)
    return client


def test_a_plan_for_a_planned_session_is_stored_on_it(alice) -> None:
    session = factories.ready_session(alice)
    body = {**REQUEST, "zones": ["forehead", "cheek"], "session_id": session.pk}
    response = Api(alice).post("/plans", body)
    assert response.status_code == 200, response.json()
    assert response.json()["format"] == "cryoderm-plan/1"
    assert response.json()["screening"] == "clear"
    session.refresh_from_db()
    assert sorted(step["zone"] for step in session.plan["steps"]) == ["cheek", "forehead"]
    assert session.plan_screening == session.client.screenings.get()


def test_a_plan_for_a_client_is_shown_and_not_stored(alice) -> None:
    client = screened(alice)
    response = Api(alice).post("/plans", {**REQUEST, "client_id": client.pk})
    assert response.status_code == 200, response.json()
    assert [step["zone"] for step in response.json()["steps"]] == ["cheek"]
    assert not client.sessions.exists()


def test_a_refer_verdict_is_pending_until_signed_off(alice) -> None:
    client = screened(alice, {**factories.CLEAR_ANSWERS, "conditions": ["anticoagulants"]})
    pending = Api(alice).post("/plans", {**REQUEST, "client_id": client.pk}).json()
    assert pending["pending_sign_off"] is True
    factories.sign_off(alice, client.screenings.get(), "anticoagulants", director())
    signed = Api(alice).post("/plans", {**REQUEST, "client_id": client.pk}).json()
    assert signed["pending_sign_off"] is False


def test_a_do_not_treat_verdict_refuses_the_plan_with_409(alice) -> None:
    client = screened(alice, {**factories.CLEAR_ANSWERS, "conditions": ["raynauds"]})
    response = Api(alice).post("/plans", {**REQUEST, "client_id": client.pk})
    assert response.status_code == 409
    assert response.json()["field"] == "screening-verdict"


def test_an_unscreened_or_out_of_date_client_gets_no_plan(alice) -> None:
    client = factories.make_client(alice)
    response = Api(alice).post("/plans", {**REQUEST, "client_id": client.pk})
    assert response.status_code == 409
    assert response.json()["field"] == "screening-current"
    factories.screen(alice, client)
    ScreeningResponse.objects.update(screened_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    response = Api(alice).post("/plans", {**REQUEST, "client_id": client.pk})
    assert response.status_code == 409
    assert response.json()["field"] == "screening-current"


class TestASessionIsPlannedOnlyForItself:
    """The reported bypass, piece by piece: zones, modality, another client."""

    def test_other_zones_are_refused(self, alice) -> None:
        session = factories.ready_session(alice)
        body = {**REQUEST, "zones": ["forehead"], "session_id": session.pk}
        response = Api(alice).post("/plans", body)
        assert response.status_code == 422
        assert response.json()["field"] == "zones"
        session.refresh_from_db()
        assert sorted(s["zone"] for s in session.plan["steps"]) == ["cheek", "forehead"]

    def test_another_modality_is_refused(self, alice) -> None:
        session = factories.ready_session(alice)
        before = session.plan
        body = {"goals": ["skin-tone"], "zones": ["forehead", "cheek"], "modality": "contact"}
        response = Api(alice).post("/plans", {**body, "session_id": session.pk})
        assert response.status_code == 422
        assert response.json()["field"] == "device"
        session.refresh_from_db()
        assert session.plan == before

    def test_another_clients_screening_is_never_used(self, alice) -> None:
        """The plan comes from the session's own client: a refer screening of another client
        cannot make it 'clear', and her do-not-treat cannot be hidden by another's clear."""
        session = factories.ready_session(alice)
        factories.screen(
            alice, session.client, {**factories.CLEAR_ANSWERS, "conditions": ["raynauds"]}
        )
        other = screened(alice, given_name="Other").screenings.get()
        body = {**REQUEST, "zones": ["forehead", "cheek"], "session_id": session.pk}
        named = Api(alice).post("/plans", {**body, "screening_id": other.pk})
        assert named.status_code == 422
        assert named.json()["field"] == "screening_id"
        response = Api(alice).post("/plans", body)
        assert response.status_code == 409
        assert response.json()["field"] == "screening-verdict"

    def test_the_live_guard_takes_the_devices_modality_and_the_registry(self, alice) -> None:
        """A cold-air cheek session is guarded with the cold-air floor and exposure of the
        safety registry, whatever a stored plan says."""
        from cryoderm.clinic.records.services import planning
        from cryoderm.clinic.records.services import sessions as session_service
        from cryoderm.clinical.limits import load_safety_limits

        session = factories.ready_session(alice)
        started = session_service.start(alice, session.pk)
        guard = planning.zone_guard(started, "cheek")
        registry = load_safety_limits()
        assert guard.modality == "cold-air"
        assert guard.limits.floor_temp_c == registry.floor_temp_c("cheek", "cold-air")
        assert guard.limits.max_exposure_s <= registry.max_exposure_s("cheek", "cold-air")
        # A plan for the forehead with a contact applicator, written into the row behind the
        # services' back, is refused by the guard rather than obeyed.
        contact = planning.preview(
            alice, started.client_id, goals=["skin-tone"], zones=["forehead"], modality="contact"
        )
        type(started).objects.filter(pk=started.pk).update(plan=contact.to_json_dict())
        started.refresh_from_db()
        with pytest.raises(Exception, match="cannot guard"):
            planning.zone_guard(started, "cheek")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"modality": "plasma"}, "modality"),
        ({"goals": []}, "goals"),
        ({"goals": ["eternal-youth"]}, "goal"),
        ({"zones": ["elbow"]}, "zones"),
        ({"client_id": 404}, "id"),
    ],
)
def test_bad_plan_requests_name_their_field(alice, change, field) -> None:
    client = screened(alice)
    response = Api(alice).post("/plans", {**REQUEST, "client_id": client.pk, **change})
    assert response.status_code in (404, 422), response.json()
    assert response.json()["field"].startswith(field)


def test_a_client_or_a_session_is_named(alice) -> None:
    response = Api(alice).post("/plans", REQUEST)
    assert response.status_code == 422


@pytest.mark.parametrize("persona", ["bob", "charlie"])
def test_roles_without_planning_are_refused(persona, request, alice) -> None:
    client = screened(alice)
    user = request.getfixturevalue(persona)
    assert Api(user).post("/plans", {**REQUEST, "client_id": client.pk}).status_code == 403
