"""Only the practitioner of record, qualified on the day, starts a session: in every path.

The reported bypass: a practitioner whose liquid-nitrogen qualification had expired created
a session naming a qualified colleague as its practitioner and started it himself; the audit
showed him starting a session recorded under her name. The start service now refuses anyone
but the practitioner of record (a gate, listed with the others).

Personas: alice (practitioner, qualified); pat (practitioner, every qualification expired);
dora (medical director, qualified) who may plan for others but not start in their name."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client as Browser
from django.urls import reverse

from clinic import factories, personas
from clinic.api_helpers import Api, director
from cryoderm.clinic.accounts.permissions import PRACTITIONER, grant_role
from cryoderm.clinic.records import gates
from cryoderm.clinic.records.models import TreatmentSession
from cryoderm.clinic.records.services import planning
from cryoderm.clinic.records.services import sessions as session_service

pytestmark = pytest.mark.django_db


@pytest.fixture
def pat(db: None) -> Any:
    user = personas.make_user("pat", "Pat", "Price")
    grant_role(user, PRACTITIONER)
    personas.make_practitioner(user, valid_until=dt.date.today() - dt.timedelta(days=20))
    return user


@pytest.fixture
def alices_session(alice: Any, pat: Any) -> TreatmentSession:
    """A session with every gate open for alice, planned by pat in her name."""
    ready = factories.ready_session(alice, modality="ln2-vapour")
    return ready


def status_of(session: TreatmentSession) -> str:
    session.refresh_from_db()
    return session.status


def test_the_gate_list_names_the_practitioner_of_record(alice, pat, alices_session) -> None:
    names = [g.name for g in session_service.check_gates(pat, alices_session.pk).closed]
    assert names == ["practitioner-of-record"]
    assert session_service.check_gates(alice, alices_session.pk).all_open


def test_api_an_unqualified_colleague_cannot_start_it(pat, alices_session) -> None:
    response = Api(pat).post(f"/sessions/{alices_session.pk}/start")
    assert response.status_code == 409
    assert response.json()["field"] == "practitioner-of-record"
    assert "Alice Arden" in response.json()["detail"]
    assert status_of(alices_session) == "planned"


def test_api_an_unqualified_practitioner_naming_a_colleague_is_refused_end_to_end(
    alice, pat
) -> None:
    ready = factories.ready_session(alice, modality="ln2-vapour")
    created = Api(pat).post(
        "/sessions",
        {
            "client_id": ready.client_id,
            "device_id": ready.device_id,
            "zones": ["forehead"],
            "goals": ["skin-tone"],
            "practitioner_id": alice.practitioner.pk,
        },
    )
    assert created.status_code == 201, created.json()
    session_id = created.json()["id"]
    started = Api(pat).post(f"/sessions/{session_id}/start")
    assert started.status_code == 409
    assert started.json()["field"] == "practitioner-of-record"
    assert TreatmentSession.objects.get(pk=session_id).status == "planned"


def test_api_a_director_may_not_start_in_a_practitioners_name(alice, alices_session) -> None:
    dora = director()
    response = Api(dora).post(f"/sessions/{alices_session.pk}/start")
    assert response.status_code == 409
    assert status_of(alices_session) == "planned"


def test_api_the_practitioner_of_record_starts_it(alice, alices_session) -> None:
    response = Api(alice).post(f"/sessions/{alices_session.pk}/start")
    assert response.status_code == 200, response.json()
    assert status_of(alices_session) == "in-progress"


def test_api_an_expired_practitioner_cannot_start_his_own_session(alice, pat) -> None:
    ready = factories.ready_session(alice, modality="ln2-vapour")
    own = planning.plan_session(
        pat,
        client_id=ready.client_id,
        device_id=ready.device_id,
        zones=["cheek"],
        goals=["skin-tone"],
    )
    response = Api(pat).post(f"/sessions/{own.pk}/start")
    assert response.status_code == 409
    assert response.json()["field"] == "practitioner-qualified"


def test_page_an_unqualified_colleague_cannot_start_it(pat, alices_session) -> None:
    browser = Browser()
    browser.force_login(pat)
    response = browser.post(reverse("web:session_start", args=[alices_session.pk]), follow=True)
    assert "Started by the practitioner of record: blocked" in response.content.decode()
    assert status_of(alices_session) == "planned"


@pytest.mark.parametrize("persona", ["bob", "charlie"])
def test_roles_without_start_are_refused(persona, request, alices_session) -> None:
    user = request.getfixturevalue(persona)
    assert Api(user).post(f"/sessions/{alices_session.pk}/start").status_code == 403
    assert status_of(alices_session) == "planned"


def test_service_a_process_label_cannot_start_a_session(alices_session) -> None:
    with pytest.raises(gates.GatesClosed) as refused:
        session_service.start("system:script", alices_session.pk)
    assert [g.name for g in refused.value.closed] == ["practitioner-of-record"]
