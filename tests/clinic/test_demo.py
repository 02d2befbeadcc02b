"""The demo clinic: staff with their roles and password, devices with histories, clients
with varied screenings, past sessions that passed the gates with readings and outcomes,
and gates that refuse what the demo's story says they should; the audit chain is intact."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from cryoderm.clinic import audit, demo
from cryoderm.clinic.accounts.permissions import roles_of
from cryoderm.clinic.records.models import Client, Device, ScreeningResponse, TreatmentSession
from cryoderm.clinic.records.services import sessions as session_service

PASSWORD = "demo password for tests"


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """Seeded once for the module (the planner runs for every past session)."""
    with django_db_blocker.unblock():
        result = demo.seed(PASSWORD)
    yield result
    with django_db_blocker.unblock():
        from django.core.management import call_command

        call_command("flush", interactive=False, verbosity=0)


# One worker seeds once for the whole module (make test runs with --dist loadgroup).
pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("clinic-demo")]


def test_the_staff_log_in_with_the_given_password_and_hold_their_roles(seeded) -> None:
    assert seeded.usernames == ("director", "practitioner", "frontdesk")
    assert not seeded.password_generated
    users = {u.username: u for u in get_user_model().objects.all()}
    assert all(users[name].check_password(PASSWORD) for name in seeded.usernames)
    assert roles_of(users["director"]) == ("medical_director",)
    assert roles_of(users["practitioner"]) == ("practitioner",)
    assert roles_of(users["frontdesk"]) == ("front_desk",)


def test_clients_have_varied_screenings(seeded) -> None:
    assert Client.objects.count() == seeded.clients == 10
    outcomes = set(ScreeningResponse.objects.values_list("outcome", flat=True))
    assert {"clear", "refer", "do-not-treat"} <= outcomes
    referred = ScreeningResponse.objects.filter(outcome="refer", sessions__isnull=False).first()
    assert referred is not None and referred.signoffs.count() == len(referred.rule_ids("refer"))


def test_past_sessions_passed_the_gates_and_have_readings_and_outcomes(seeded) -> None:
    past = TreatmentSession.objects.all()
    assert past.count() == seeded.sessions > 0
    for session in past:
        assert session.status == "completed"
        assert session.screening_id and session.consent_id and session.plan
        assert session.readings.exists() and session.scores.count() == 2
    assert seeded.readings == sum(s.readings.count() for s in past)


def test_devices_of_each_modality_with_maintenance_history(seeded) -> None:
    devices = {d.modality: d for d in Device.objects.all()}
    assert set(devices) == {"cold-air", "ln2-vapour", "contact"}
    for device in devices.values():
        assert device.maintenance.count() >= 2 and device.calibrations.count() >= 2
    assert devices["cold-air"].sessions_count > 0


def test_the_gates_tell_the_demo_story(seeded) -> None:
    practitioner = get_user_model().objects.get(username="practitioner")
    lucas = Client.objects.get(given_name="Lucas")
    ln2 = Device.objects.get(modality="ln2-vapour")
    session = session_service.create(
        practitioner,
        client_id=lucas.pk,
        practitioner_id=practitioner.practitioner.pk,
        device_id=ln2.pk,
        zones=["forehead"],
    )
    closed = {
        g.name for g in session_service.check_gates(session.practitioner.user, session.pk).closed
    }
    assert {"screening-current", "practitioner-qualified", "device-calibrated"} <= closed


def test_the_audit_chain_of_the_demo_is_intact(seeded) -> None:
    assert audit.verify().ok
    assert not demo.is_empty()
