"""The gates: a session starts only with a current screening that allows treatment, signed
off referrals, signed consent, a qualified practitioner and a calibrated, serviced device.
Each refusal names the gate and how to clear it, and writes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from cryoderm.clinic.accounts.permissions import PRACTITIONER, grant_role
from cryoderm.clinic.records import gates
from cryoderm.clinic.records.models import ClinicPolicy, Qualification, TreatmentSession
from cryoderm.clinic.records.services import consent, devices, planning
from cryoderm.clinic.records.services import sessions as session_service
from cryoderm.errors import NotPermitted

from . import factories


def refused(session, gate: str) -> gates.GatesClosed:
    with pytest.raises(gates.GatesClosed) as caught:
        session_service.start(session.practitioner.user, session.pk)
    names = [g.name for g in caught.value.closed]
    assert gate in names, names
    session.refresh_from_db()
    assert session.status == TreatmentSession.Status.PLANNED
    return caught.value


def test_a_session_with_every_gate_open_starts(alice) -> None:
    session = factories.ready_session(alice)
    started = session_service.start(alice, session.pk)
    assert started.status == "in-progress"
    assert started.screening is not None and started.consent is not None
    started.device.refresh_from_db()
    assert started.device.sessions_count == 1


def test_the_refusal_is_a_not_permitted_naming_gate_and_remedy(alice) -> None:
    session = factories.ready_session(alice, calibrated_days_ago=None)
    error = refused(session, "device-calibrated")
    assert isinstance(error, NotPermitted)
    assert "Device calibrated: blocked" in str(error)
    assert "To clear: calibrate the device" in str(error)


def test_no_screening_closes_the_screening_gates(alice) -> None:
    client = factories.make_client(alice)
    device = factories.make_device()
    factories.sign_consent(alice, client)
    session = session_service.create(
        alice,
        client_id=client.pk,
        practitioner_id=alice.practitioner.pk,
        device_id=device.pk,
        zones=["cheek"],
    )
    error = refused(session, "screening-current")
    assert "screen the client" in str(error)


def test_a_screening_older_than_the_clinic_setting_must_be_repeated(alice) -> None:
    session = factories.ready_session(alice)
    old = timezone.now() - dt.timedelta(days=31)
    session.client.screenings.update(screened_at=old)
    error = refused(session, "screening-current")
    assert "repeat the screening" in str(error)
    ClinicPolicy.objects.filter(pk=1).update(screening_validity_days=60)
    assert session_service.start(alice, session.pk).status == "in-progress"


def test_a_screening_for_other_zones_does_not_count(alice) -> None:
    client = factories.make_client(alice)
    factories.sign_consent(alice, client)
    factories.screen(alice, client, zones=["chin"])
    session = session_service.create(
        alice, client_id=client.pk, device_id=factories.make_device().pk, zones=["forehead"]
    )
    refused(session, "screening-current")
    factories.screen(alice, client, zones=["forehead", "cheek", "chin"])
    planning.replan(alice, session.pk, goals=["skin-tone"])
    assert session_service.start(alice, session.pk).status == "in-progress"


def test_a_new_screening_makes_the_plan_out_of_date(alice) -> None:
    session = factories.ready_session(alice)
    factories.screen(alice, session.client)
    error = refused(session, "plan-current")
    assert "plan the session again" in str(error)
    planning.replan(alice, session.pk, goals=["skin-tone"])
    assert session_service.start(alice, session.pk).status == "in-progress"


def test_do_not_treat_closes_the_verdict_gate(alice) -> None:
    session = factories.ready_session(alice)
    factories.screen(
        alice, session.client, {**factories.CLEAR_ANSWERS, "conditions": ["cryoglobulinaemia"]}
    )
    error = refused(session, "screening-verdict")
    assert "Cryoglobulinaemia" in str(error) and "cryoglobulinaemia" not in str(error)


def test_refer_findings_need_two_clinicians_sign_off(alice, django_user_model) -> None:
    from .personas import make_practitioner, make_user

    session = factories.ready_session(alice)
    referred = factories.screen(
        alice, session.client, {**factories.CLEAR_ANSWERS, "conditions": ["anticoagulants"]}
    )
    assert referred.outcome == "refer"
    refused(session, "referrals-signed-off")
    colleague = make_user("dora", "Dora", "Doctor")
    grant_role(colleague, PRACTITIONER)
    make_practitioner(colleague)
    for rule_id in referred.rule_ids("refer"):
        factories.sign_off(
            alice, referred, rule_id, colleague, reason="INR stable; low-intensity protocol"
        )
    planning.replan(alice, session.pk, goals=["skin-tone"])
    assert session_service.start(alice, session.pk).status == "in-progress"


def test_consent_withdrawn_or_signed_under_an_old_text_closes_the_consent_gate(alice) -> None:
    session = factories.ready_session(alice)
    consent.publish_text(
        factories.SYSTEM, "treatment", title="Treatment consent", body="New wording."
    )
    error = refused(session, "consent-signed")
    assert "current version" in str(error)
    signed = factories.sign_consent(alice, session.client)
    consent.withdraw(alice, signed.pk, reason="the client changed her mind", confirmed=True)
    refused(session, "consent-signed")


def test_an_expired_qualification_closes_the_practitioner_gate(alice) -> None:
    session = factories.ready_session(alice)
    yesterday = dt.date.today() - dt.timedelta(days=1)
    Qualification.objects.filter(practitioner=alice.practitioner, modality="cold-air").update(
        expires_on=yesterday
    )
    error = refused(session, "practitioner-qualified")
    assert f"expired on {yesterday}" in str(error)


def test_overdue_calibration_service_or_open_major_fault_close_device_gates(alice) -> None:
    overdue = factories.ready_session(alice, calibrated_days_ago=400, serviced_days_ago=400)
    error = refused(overdue, "device-calibrated")
    assert "device-serviced" in [g.name for g in error.closed]
    faulty = factories.ready_session(alice, serial_number="CA-0002")
    fault = devices.report_fault(alice, faulty.device, description="coolant leak", severity="major")
    assert "coolant leak" in str(refused(faulty, "device-serviced"))
    devices.resolve_fault(factories.SYSTEM, fault.pk, resolution="seal replaced")
    assert session_service.start(alice, faulty.pk).status == "in-progress"


def test_evaluate_lists_every_gate_for_a_checklist(alice) -> None:
    session = factories.ready_session(alice)
    evaluation = session_service.check_gates(session.practitioner.user, session.pk)
    assert [g.name for g in evaluation.gates] == list(gates.GATES)
    assert evaluation.all_open
