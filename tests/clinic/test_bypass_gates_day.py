"""Gates that depend on the day and the hour: a qualification valid on the day the session
starts (not the day before, not from a future issue date, not of another modality), and the
minimum interval between two sessions on the same zone of one client.

Personas: alice (practitioner, every qualification current); quinn, a practitioner whose
qualifications each test sets."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from clinic import factories, personas
from clinic.api_helpers import Api
from cryoderm.clinic.accounts.permissions import PRACTITIONER, grant_role
from cryoderm.clinic.records import gates
from cryoderm.clinic.records.errors import InvalidRecord
from cryoderm.clinic.records.models import Practitioner, Qualification, TreatmentSession
from cryoderm.clinic.records.services import planning, staff
from cryoderm.clinic.records.services import sessions as session_service

pytestmark = pytest.mark.django_db

MODALITY = "ln2-vapour"


@pytest.fixture
def quinn(db: None) -> Any:
    user = personas.make_user("quinn", "Quinn", "Quade")
    grant_role(user, PRACTITIONER)
    Practitioner.objects.create(user=user, display_name="Quinn Quade")
    return user


def qualify(user: Any, *, issued: dt.date, expires: dt.date, modality: str = MODALITY) -> Any:
    return Qualification.objects.create(
        practitioner=user.practitioner,
        modality=modality,
        title="LN2 operator course",
        issuer="Example Training Academy",
        issued_on=issued,
        expires_on=expires,
    )


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def closed_at(user: Any, session: TreatmentSession, moment: dt.datetime) -> list[str]:
    return [g.name for g in session_service.check_gates(user, session.pk, at=moment).closed]


TODAY = dt.date.today()


# -- a qualification valid that day ------------------------------------------------------


def test_a_qualification_expiring_today_holds_until_midnight_not_after(quinn) -> None:
    qualify(quinn, issued=TODAY - dt.timedelta(days=300), expires=TODAY)
    session = factories.ready_session(quinn, modality=MODALITY)
    assert closed_at(quinn, session, local(TODAY, 23, 59)) == []
    tomorrow = local(TODAY + dt.timedelta(days=1), 0, 1)
    assert closed_at(quinn, session, tomorrow) == ["practitioner-qualified"]
    with pytest.raises(gates.GatesClosed) as refused:
        session_service.start(quinn, session.pk, at=tomorrow)
    assert "expired on" in str(refused.value)
    session.refresh_from_db()
    assert session.status == "planned"


def test_a_qualification_expired_yesterday_is_refused_through_the_api(quinn) -> None:
    qualify(quinn, issued=TODAY - dt.timedelta(days=300), expires=TODAY - dt.timedelta(days=1))
    session = factories.ready_session(quinn, modality=MODALITY)
    response = Api(quinn).post(f"/sessions/{session.pk}/start")
    assert response.status_code == 409
    assert response.json()["field"] == "practitioner-qualified"


def test_a_future_dated_qualification_does_not_count_before_its_issue(quinn) -> None:
    qualify(quinn, issued=TODAY + dt.timedelta(days=1), expires=TODAY + dt.timedelta(days=365))
    session = factories.ready_session(quinn, modality=MODALITY)
    assert closed_at(quinn, session, timezone.now()) == ["practitioner-qualified"]
    assert closed_at(quinn, session, local(TODAY + dt.timedelta(days=1), 9)) == []


def test_the_staff_service_refuses_a_qualification_issued_in_the_future(quinn) -> None:
    with pytest.raises(InvalidRecord) as refused:
        staff.add_qualification(
            factories.SYSTEM,
            quinn.practitioner.pk,
            modality=MODALITY,
            title="LN2 operator course",
            issuer="Example Training Academy",
            issued_on=TODAY + dt.timedelta(days=2),
            expires_on=TODAY + dt.timedelta(days=400),
        )
    assert refused.value.field == "issued_on"


def test_a_qualification_of_another_modality_does_not_count(quinn) -> None:
    qualify(
        quinn,
        issued=TODAY - dt.timedelta(days=30),
        expires=TODAY + dt.timedelta(days=300),
        modality="cold-air",
    )
    session = factories.ready_session(quinn, modality=MODALITY)
    response = Api(quinn).post(f"/sessions/{session.pk}/start")
    assert response.status_code == 409
    assert response.json()["field"] == "practitioner-qualified"
    assert "Liquid-nitrogen vapour" in response.json()["detail"]


def test_a_revoked_qualification_does_not_count(quinn) -> None:
    held = qualify(
        quinn, issued=TODAY - dt.timedelta(days=30), expires=TODAY + dt.timedelta(days=300)
    )
    held.revoked_at = timezone.now()
    held.save()
    session = factories.ready_session(quinn, modality=MODALITY)
    assert closed_at(quinn, session, timezone.now()) == ["practitioner-qualified"]


# -- the minimum interval between sessions on a zone ---------------------------------------


def treated(user: Any, session: TreatmentSession, *, ended_hours_ago: float) -> None:
    """``session`` started and completed, ending ``ended_hours_ago`` hours ago."""
    end = timezone.now() - dt.timedelta(hours=ended_hours_ago)
    session_service.start(user, session.pk, at=end - dt.timedelta(minutes=10))
    session_service.finish(user, session.pk, exposure_s=120.0, at=end)


def another(user: Any, first: TreatmentSession, zones: list[str], **device: Any) -> Any:
    device_id = factories.make_device(**device).pk if device else first.device_id
    return planning.plan_session(
        user, client_id=first.client_id, device_id=device_id, zones=zones, goals=["skin-tone"]
    )


def test_the_same_zone_again_within_the_interval_is_refused_in_every_path(alice) -> None:
    first = factories.ready_session(alice, zones=["forehead", "cheek"])
    treated(alice, first, ended_hours_ago=2)
    again = another(alice, first, ["cheek"])
    assert closed_at(alice, again, timezone.now()) == ["interval-since-last"]
    response = Api(alice).post(f"/sessions/{again.pk}/start")
    assert response.status_code == 409, response.json()
    assert response.json()["field"] == "interval-since-last"
    assert "at least 24 h" in response.json()["detail"]
    assert TreatmentSession.objects.get(pk=again.pk).status == "planned"


def test_another_modality_on_the_same_zone_is_refused_too(alice) -> None:
    first = factories.ready_session(alice, zones=["forehead"])
    treated(alice, first, ended_hours_ago=3)
    factories.screen(alice, first.client, modality="contact")
    again = another(alice, first, ["forehead"], modality="contact", serial_number="CT-0001")
    assert closed_at(alice, again, timezone.now()) == ["interval-since-last"]


def test_other_zones_and_a_past_interval_are_allowed(alice) -> None:
    first = factories.ready_session(alice, zones=["forehead"])
    treated(alice, first, ended_hours_ago=2)
    assert closed_at(alice, another(alice, first, ["chin"]), timezone.now()) == []
    old = factories.ready_session(alice, zones=["cheek"], serial_number="CA-0002")
    treated(alice, old, ended_hours_ago=25)
    assert closed_at(alice, another(alice, old, ["cheek"]), timezone.now()) == []


def test_a_client_already_in_a_session_cannot_start_another(alice) -> None:
    first = factories.ready_session(alice, zones=["forehead"])
    session_service.start(alice, first.pk)
    second = another(alice, first, ["chin"])
    with pytest.raises(gates.GatesClosed) as refused:
        session_service.start(alice, second.pk)
    assert refused.value.field == "interval-since-last"
    assert f"session {first.pk} of this client is in progress" in str(refused.value)


@pytest.mark.django_db(transaction=True)
def test_two_of_a_clients_sessions_started_at_once_do_not_both_start(monkeypatch) -> None:
    """A double start (two browser tabs, two scripts): each start's gates are decided with
    the client's row locked, so the second sees the first in progress."""
    import threading
    import time

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises every writer (IMMEDIATE transactions); shown on PostgreSQL")
    alice = personas.alice()
    first = factories.ready_session(alice, zones=["forehead"])
    second = another(alice, first, ["chin"], serial_number="CA-0002")
    decided = gates.require_open

    def slow(*args: Any, **kwargs: Any) -> Any:
        evaluation = decided(*args, **kwargs)
        time.sleep(0.5)  # the window in which the other start would also pass the gate
        return evaluation

    monkeypatch.setattr(gates, "require_open", slow)
    outcomes: dict[int, str] = {}

    def start(session_id: int) -> None:
        try:
            session_service.start(alice, session_id)
            outcomes[session_id] = "started"
        except gates.GatesClosed as closed:
            outcomes[session_id] = closed.field
        finally:
            connections.close_all()

    threads = [threading.Thread(target=start, args=(s.pk,)) for s in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values()) == ["interval-since-last", "started"], outcomes
    assert TreatmentSession.objects.filter(status="in-progress").count() == 1
