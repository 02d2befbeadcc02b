"""FHIR export: every resource built from real records in the test database, validated by
fhir.resources, in R5 and R4B. Runs on SQLite and, with CRYODERM_TEST_DATABASE=postgres, on
the PostgreSQL server (pytest-django's ``db`` fixture through the personas)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cryoderm.clinic import fhir
from cryoderm.clinic.accounts.permissions import PRACTITIONER, grant_role
from cryoderm.clinic.audit.models import AuditEntry
from cryoderm.clinic.fhir.resources import full_url, model_class
from cryoderm.clinic.records.models import SkinReading
from cryoderm.clinic.records.services import planning, readings
from cryoderm.clinic.records.services import sessions as session_service

from . import factories
from .personas import make_practitioner, make_user

VERSIONS = ["R5", "R4B"]


def treated_client(alice: Any) -> Any:
    """A client with a refer finding signed off, a consent, and a completed session with readings."""
    session = factories.ready_session(alice, zones=["forehead", "cheek", "glabella"])
    referred = factories.screen(
        alice, session.client, {**factories.CLEAR_ANSWERS, "conditions": ["anticoagulants"]}
    )
    colleague = make_user("dora", "Dora", "Doctor")
    grant_role(colleague, PRACTITIONER)
    make_practitioner(colleague)
    for rule_id in referred.rule_ids("refer"):
        factories.sign_off(alice, referred, rule_id, colleague, reason="INR stable")
    planning.replan(alice, session.pk, goals=["skin-tone"])
    session_service.start(alice, session.pk)
    readings.ingest(
        f"device:{session.device.serial_number}",
        session.pk,
        [
            {"zone": "cheek", "sensor": "ir-1", "elapsed_s": 0.0, "skin_temp_c": 33.1},
            {"zone": "cheek", "sensor": "ir-1", "elapsed_s": 30.0, "skin_temp_c": 12.4},
            {"zone": "forehead", "sensor": "ir-2", "elapsed_s": 30.0, "skin_temp_c": 14.9},
            {"zone": "glabella", "sensor": "ir-3", "elapsed_s": 30.0, "skin_temp_c": 15.2},
        ],
    )
    session_service.finish(alice, session.pk, exposure_s=120.0)
    return session.client


@pytest.mark.parametrize("version", VERSIONS)
def test_a_skin_reading_is_a_loinc_body_surface_temperature_in_celsius(alice, version) -> None:
    client = treated_client(alice)
    reading = SkinReading.objects.get(session__client=client, zone="cheek", elapsed_s=30.0)
    observation = fhir.observation(reading, version)
    assert isinstance(observation, model_class("Observation", version))
    coding = observation.code.coding[0]
    assert (coding.system, coding.code) == ("http://loinc.org", "61008-9")
    value = observation.valueQuantity
    assert (float(value.value), value.system, value.code) == (
        12.4,
        "http://unitsofmeasure.org",
        "Cel",
    )
    site = observation.bodySite.coding[0]
    assert (site.system, site.code) == ("http://snomed.info/sct", "60819002")
    assert observation.subject.reference == full_url(client)


def test_a_zone_without_a_sourced_snomed_code_is_exported_as_text(alice) -> None:
    client = treated_client(alice)
    reading = SkinReading.objects.get(session__client=client, zone="glabella")
    site = fhir.observation(reading).bodySite
    assert site.text == "glabella" and not site.coding


@pytest.mark.parametrize("version", VERSIONS)
def test_every_record_maps_to_a_valid_resource(alice, version) -> None:
    client = treated_client(alice)
    session = client.sessions.get()
    patient = fhir.patient(client, version)
    assert patient.name[0].family == client.family_name
    assert str(patient.birthDate) == client.date_of_birth.isoformat()
    practitioner = fhir.practitioner(session.practitioner, version)
    assert {q.code.text.split(" (")[1].rstrip(")") for q in practitioner.qualification} == {
        "cold-air",
        "ln2-vapour",
        "contact",
    }
    device = fhir.device(session.device, version)
    assert device.serialNumber == session.device.serial_number
    procedure = fhir.procedure(session, version)
    assert procedure.status == "completed"
    assert [site.text for site in procedure.bodySite] == ["forehead", "cheek", "glabella"]
    period = procedure.occurrencePeriod if version == "R5" else procedure.performedPeriod
    assert period.start is not None and period.end is not None
    consent = fhir.consent(client.consents.get(scope="treatment"), version)
    assert consent.status == "active"


@pytest.mark.parametrize("version", VERSIONS)
def test_contraindication_findings_are_detected_issues_with_their_sign_off(alice, version) -> None:
    client = treated_client(alice)
    referred = client.screenings.get(outcome="refer")
    issues = fhir.detected_issues(referred, version)
    assert len(issues) == len(referred.rule_ids("refer"))
    issue = issues[0]
    assert issue.severity == "moderate"
    assert "refer" in issue.code.text
    assert issue.mitigation[0].author.display == "alice"
    clear = client.screenings.get(outcome="clear")
    assert fhir.detected_issues(clear, version) == []


@pytest.mark.parametrize("version", VERSIONS)
def test_audit_entries_about_the_client_are_audit_events(alice, version) -> None:
    client = treated_client(alice)
    entry = AuditEntry.objects.filter(target=f"records.client:{client.pk}").first()
    assert entry is not None
    event = fhir.audit_event(entry, {entry.target: client}, version)
    assert event.recorded is not None
    assert event.entity[0].what.reference == full_url(client)
    assert event.agent[0].who.display.startswith("user:")


@pytest.mark.parametrize("version", VERSIONS)
def test_a_client_bundle_holds_the_whole_record_and_resolves_its_references(alice, version) -> None:
    client = treated_client(alice)
    bundle = fhir.client_bundle(client, version)
    assert isinstance(bundle, model_class("Bundle", version))
    kinds = [entry.resource.__resource_type__ for entry in bundle.entry]
    for kind in (
        "Patient",
        "Practitioner",
        "Device",
        "Consent",
        "DetectedIssue",
        "Procedure",
        "AuditEvent",
    ):
        assert kind in kinds, kind
    assert kinds.count("Observation") == 4
    urls = {entry.fullUrl for entry in bundle.entry}
    payload = json.loads(bundle.model_dump_json(exclude_none=True))
    references = _references(payload)
    assert references and references <= urls
    # The round trip through JSON validates again.
    assert model_class("Bundle", version).model_validate(payload).type == "collection"


def _references(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                found.add(value)
            else:
                found |= _references(value)
    elif isinstance(node, list):
        for item in node:
            found |= _references(item)
    return found


def test_the_command_writes_a_valid_bundle_and_audits_the_export(alice, tmp_path) -> None:
    from cryoderm.cli import main

    client = treated_client(alice)
    out = tmp_path / "bundle.json"
    assert (
        main(["fhir", "export", "--client", str(client.pk), "--version", "R4B", "--out", str(out)])
        == 0
    )
    bundle = model_class("Bundle", "R4B").model_validate_json(out.read_text(encoding="utf-8"))
    assert bundle.entry[0].resource.__resource_type__ == "Patient"
    assert AuditEntry.objects.filter(
        action="client.export_fhir", target=f"records.client:{client.pk}"
    ).exists()


@pytest.mark.parametrize("version", VERSIONS)
def test_the_api_exports_a_valid_bundle_and_audits_the_export(alice, version) -> None:
    from django.test import Client as Browser

    client = treated_client(alice)
    browser = Browser()
    browser.force_login(alice)
    response = browser.get(f"/api/clients/{client.pk}/fhir", {"version": version})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json"
    bundle = model_class("Bundle", version).model_validate_json(
        b"".join(response.streaming_content)
    )
    assert bundle.entry[0].resource.__resource_type__ == "Patient"
    assert AuditEntry.objects.filter(
        action="client.export_fhir", target=f"records.client:{client.pk}"
    ).exists()


def test_the_api_refuses_an_unknown_version_naming_the_field(alice) -> None:
    from django.test import Client as Browser

    client = treated_client(alice)
    browser = Browser()
    browser.force_login(alice)
    response = browser.get(f"/api/clients/{client.pk}/fhir", {"version": "DSTU2"})
    assert response.status_code == 422
    assert "version" in response.content.decode()


def test_the_command_refuses_an_unknown_client_or_version(db, capsys) -> None:
    from cryoderm.cli import main

    assert main(["fhir", "export", "--client", "424242"]) == 2
    assert "no client with this id" in capsys.readouterr().err
    assert main(["fhir", "export", "--client", "1", "--version", "R4"]) == 2
    assert "R5, R4B" in capsys.readouterr().err
