"""Pure mappings from clinic records to FHIR resources (R5, or R4B where asked).

Each function takes model instances and returns a ``fhir.resources`` object, validated by the
library on construction (a mapping that produces invalid FHIR raises, never exports). Nothing
here writes to the database; the caller (the ``fhir`` command, an API view) audits the export.

References between the resources of one export use ``urn:uuid:`` identifiers derived from
the record (:func:`full_url`), so a Bundle resolves them without a server.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Literal

from django.db import models

from cryoderm.clinic.audit.models import AuditEntry
from cryoderm.clinic.records.models import (
    Client,
    Consent,
    Device,
    Practitioner,
    ReferralSignOff,
    ScreeningResponse,
    SkinReading,
    TreatmentSession,
)

from . import codes

Version = Literal["R5", "R4B"]
VERSIONS: tuple[Version, ...] = ("R5", "R4B")
# Fixed namespace: the same record always gets the same urn:uuid in every export.
NAMESPACE = uuid.UUID("6f6b1c9e-8f0e-5b8e-9a51-2a4c9d7e0c11")
SEVERITY = {"do-not-treat": "high", "refer": "moderate", "precautions": "low"}
PROCEDURE_STATUS = {
    TreatmentSession.Status.PLANNED: "preparation",
    TreatmentSession.Status.IN_PROGRESS: "in-progress",
    TreatmentSession.Status.COMPLETED: "completed",
    TreatmentSession.Status.ABORTED: "stopped",
}
# DICOM PS3.16 CID 400 audit event IDs (the codes FHIR's AuditEvent examples use).
DCM = "http://dicom.nema.org/resources/ontology/DCM"
PATIENT_RECORD = {"system": DCM, "code": "110110", "display": "Patient Record"}
APPLICATION_ACTIVITY = {"system": DCM, "code": "110100", "display": "Application Activity"}
CONSENT_SCOPE_R4B = {
    "treatment": "treatment",
    "photos": "patient-privacy",
    "marketing": "patient-privacy",
}
CONSENT_SCOPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentscope"


def model_class(name: str, version: Version = "R5") -> Any:
    """The fhir.resources class of resource ``name`` in ``version``."""
    if version == "R5":
        from fhir.resources import get_fhir_model_class
    elif version == "R4B":
        from fhir.resources.R4B import get_fhir_model_class
    else:
        raise ValueError(f"FHIR version {version!r}: use one of {', '.join(VERSIONS)}")
    return get_fhir_model_class(name)


def build(name: str, data: Mapping[str, Any], version: Version = "R5") -> Any:
    """Validate ``data`` as resource ``name`` of ``version`` (raises on invalid FHIR)."""
    return model_class(name, version).model_validate({"resourceType": name, **data})


def full_url(record: models.Model) -> str:
    """The stable ``urn:uuid`` of a record in exports."""
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, f'{record._meta.label_lower}:{record.pk}')}"


def reference(record: models.Model, display: str | None = None) -> dict[str, str]:
    ref = {"reference": full_url(record)}
    if display:
        ref["display"] = display
    return ref


def _instant(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


def patient(client: Client, version: Version = "R5") -> Any:
    data: dict[str, Any] = {
        "id": str(client.pk),
        "active": not client.is_archived,
        "name": [{"use": "official", "family": client.family_name, "given": [client.given_name]}],
        "gender": client.sex,
        "birthDate": client.date_of_birth.isoformat(),
    }
    telecom = []
    if client.email:
        telecom.append({"system": "email", "value": client.email})
    if client.phone:
        telecom.append({"system": "phone", "value": client.phone})
    if telecom:
        data["telecom"] = telecom
    return build("Patient", data, version)


def practitioner(person: Practitioner, version: Version = "R5") -> Any:
    qualifications = [
        {
            "code": {"text": f"{q.title} ({q.modality})"},
            "period": {"start": q.issued_on.isoformat(), "end": q.expires_on.isoformat()},
            "issuer": {"display": q.issuer},
            **({"identifier": [{"value": q.certificate_number}]} if q.certificate_number else {}),
        }
        for q in person.qualifications.filter(revoked_at__isnull=True).order_by(
            "modality", "expires_on"
        )
    ]
    data: dict[str, Any] = {
        "id": str(person.pk),
        "active": person.is_active,
        "name": [{"text": person.display_name}],
    }
    if person.registration_number:
        data["identifier"] = [{"value": person.registration_number}]
    if qualifications:
        data["qualification"] = qualifications
    return build("Practitioner", data, version)


def device(unit: Device, version: Version = "R5") -> Any:
    data: dict[str, Any] = {
        "id": str(unit.pk),
        "status": "active" if unit.status == Device.Status.IN_SERVICE else "inactive",
        "manufacturer": unit.manufacturer,
        "serialNumber": unit.serial_number,
        "modelNumber": unit.model_name,
    }
    modality = {"text": f"cryotherapy device: {unit.get_modality_display()}"}
    if version == "R5":
        data["name"] = [{"value": unit.model_name, "type": "user-friendly-name"}]
        data["type"] = [modality]
    else:
        data["deviceName"] = [{"name": unit.model_name, "type": "user-friendly-name"}]
        data["type"] = modality
    return build("Device", data, version)


def observation(reading: SkinReading, version: Version = "R5") -> Any:
    """A skin-temperature reading: LOINC 61008-9 body surface temperature in UCUM Cel."""
    session = reading.session
    unit = codes.table()["unit"]
    data = {
        "id": str(reading.pk),
        "status": "final",
        "category": [{"coding": [codes.coding("category")]}],
        "code": {"coding": [codes.coding("observation")], "text": "Skin surface temperature"},
        "subject": reference(session.client),
        "partOf": [reference(session)],
        "effectiveDateTime": _instant(reading.recorded_at),
        "valueQuantity": {
            "value": round(float(reading.skin_temp_c), 3),
            "unit": unit["unit"],
            "system": unit["system"],
            "code": unit["code"],
        },
        "bodySite": codes.body_site(reading.zone),
        "device": reference(session.device, f"{session.device} sensor {reading.sensor}"),
    }
    return build("Observation", data, version)


def procedure(session: TreatmentSession, version: Version = "R5") -> Any:
    data: dict[str, Any] = {
        "id": str(session.pk),
        "status": PROCEDURE_STATUS.get(session.status, "unknown"),
        "code": {"text": f"Facial cryotherapy ({session.device.get_modality_display()})"},
        "subject": reference(session.client),
        "performer": [
            {"actor": reference(session.practitioner, session.practitioner.display_name)}
        ],
        "focalDevice": [{"manipulated": reference(session.device, str(session.device))}],
    }
    if session.zones:
        data["bodySite"] = [codes.body_site(str(zone)) for zone in session.zones]
    if session.started_at:
        period = {"start": _instant(session.started_at)}
        if session.ended_at:
            period["end"] = _instant(session.ended_at)
        data["occurrencePeriod" if version == "R5" else "performedPeriod"] = period
    notes = [text for text in (session.end_reason, session.notes) if text]
    if notes:
        data["note"] = [{"text": text} for text in notes]
    return build("Procedure", data, version)


def consent(record: Consent, version: Version = "R5") -> Any:
    text = record.text
    attachment = {
        "contentType": "text/plain; charset=utf-8",
        "title": f"{text.title} v{text.version}",
        "data": base64.b64encode(text.body.encode("utf-8")).decode("ascii"),
    }
    status = "active" if record.is_active else "inactive"
    scope = {"text": record.get_scope_display()}
    if version == "R5":
        data: dict[str, Any] = {
            "id": str(record.pk),
            "status": status,
            "category": [scope],
            "subject": reference(record.client),
            "date": record.signed_at.date().isoformat(),
            "grantor": [reference(record.client, record.signer_name)],
            "sourceAttachment": [attachment],
            "decision": "permit",
        }
    else:
        data = {
            "id": str(record.pk),
            "status": status,
            "scope": {
                "coding": [
                    {"system": CONSENT_SCOPE_SYSTEM, "code": CONSENT_SCOPE_R4B[record.scope]}
                ]
            },
            "category": [scope],
            "patient": reference(record.client),
            "dateTime": _instant(record.signed_at),
            "performer": [reference(record.client, record.signer_name)],
            "sourceAttachment": attachment,
            "policyRule": {"text": f"{text.title} v{text.version} (sha256 {record.text_sha256})"},
        }
    return build("Consent", data, version)


def detected_issues(screening: ScreeningResponse, version: Version = "R5") -> list[Any]:
    """One DetectedIssue per contraindication finding (grades other than clear)."""
    signoffs: dict[str, ReferralSignOff] = {s.rule_id: s for s in screening.signoffs.all()}
    issues = []
    for index, finding in enumerate(screening.findings):
        if not isinstance(finding, dict) or finding.get("grade") not in SEVERITY:
            continue
        rule = str(finding.get("rule_id", index))
        data: dict[str, Any] = {
            "id": f"{screening.pk}-{index}",
            "status": "final",
            "code": {"text": f"{finding.get('condition', rule)} ({finding['grade']})"},
            "severity": SEVERITY[finding["grade"]],
            "identifiedDateTime": _instant(screening.screened_at),
            "detail": str(finding.get("reason", "")) or None,
            "reference": None,
        }
        data["subject" if version == "R5" else "patient"] = reference(screening.client)
        signoff = signoffs.get(rule)
        if signoff is not None:
            mitigation: dict[str, Any] = {
                "action": {"text": "refer finding overridden by two clinicians"},
                "date": _instant(signoff.signed_at),
                "author": {"display": signoff.signed_by.get_username()},
            }
            if version == "R5":
                mitigation["note"] = [{"text": signoff.reason}]
            data["mitigation"] = [mitigation]
        issues.append(
            build("DetectedIssue", {k: v for k, v in data.items() if v is not None}, version)
        )
    return issues


def _action_code(action: str) -> str:
    verb = action.rsplit(".", 1)[-1]
    if verb in ("read", "list", "search", "export"):
        return "R"
    if verb in ("create", "submit", "register", "publish"):
        return "C"
    if verb in ("delete", "archive"):
        return "D"
    return "U" if verb in ("update", "edit", "sign", "withdraw") else "E"


def audit_event(
    entry: AuditEntry, targets: Mapping[str, models.Model] | None = None, version: Version = "R5"
) -> Any:
    """One audit-log entry. ``targets`` maps audit target labels to exported records."""
    record = (targets or {}).get(entry.target)
    kind = PATIENT_RECORD if record is not None else APPLICATION_ACTIVITY
    who = {"display": entry.actor}
    what = reference(record) if record is not None else {"display": entry.target or "cryoderm"}
    observer = {"display": "cryoderm clinic"}
    common: dict[str, Any] = {
        "id": str(entry.seq),
        "action": _action_code(entry.action),
        "recorded": _instant(entry.created_at),
    }
    if version == "R5":
        data = {
            **common,
            "code": {"coding": [kind], "text": entry.action},
            "agent": [{"who": who, "requestor": not entry.actor.startswith("system")}],
            "source": {"observer": observer},
            "entity": [
                {
                    "what": what,
                    "detail": [{"type": {"text": "entry_hash"}, "valueString": entry.entry_hash}],
                }
            ],
        }
    else:
        data = {
            **common,
            "type": kind,
            "subtype": [{"code": entry.action, "display": entry.action}],
            "agent": [{"who": who, "requestor": not entry.actor.startswith("system")}],
            "source": {"observer": observer},
            "entity": [
                {"what": what, "detail": [{"type": "entry_hash", "valueString": entry.entry_hash}]}
            ],
        }
    return build("AuditEvent", data, version)


def _audit_label(record: models.Model) -> str:
    return f"{record._meta.label_lower}:{record.pk}"


def client_records(client: Client) -> list[models.Model]:
    """Every record of one client's file that the export covers, in a stable order."""
    sessions = list(
        client.sessions.select_related("device", "practitioner").order_by("created_at", "id")
    )
    practitioners = {s.practitioner.pk: s.practitioner for s in sessions}
    devices = {s.device.pk: s.device for s in sessions}
    records: list[models.Model] = [client]
    records += [practitioners[k] for k in sorted(practitioners)]
    records += [devices[k] for k in sorted(devices)]
    records += list(client.consents.select_related("text").order_by("signed_at", "id"))
    records += list(client.screenings.order_by("screened_at", "id"))
    records += sessions
    return records


def bundle_entries(client: Client, version: Version = "R5") -> Iterator[tuple[str, Any]]:
    """(fullUrl, validated resource) for every resource of one client's record, in the
    Bundle's order: Patient, the Practitioners and Devices of their sessions, Consents,
    DetectedIssues, Procedures each followed by its Observations (every skin reading), and
    the AuditEvents of the audit log that concern these records. Readings are read in
    batches, never all at once."""
    records = client_records(client)
    for record in records:
        if isinstance(record, Client):
            yield full_url(record), patient(record, version)
        elif isinstance(record, Practitioner):
            yield full_url(record), practitioner(record, version)
        elif isinstance(record, Device):
            yield full_url(record), device(record, version)
        elif isinstance(record, Consent):
            yield full_url(record), consent(record, version)
        elif isinstance(record, ScreeningResponse):
            for issue in detected_issues(record, version):
                yield f"urn:uuid:{uuid.uuid5(NAMESPACE, 'detectedissue:' + str(issue.id))}", issue
        elif isinstance(record, TreatmentSession):
            yield full_url(record), procedure(record, version)
            readings = (
                record.readings.select_related("session__client", "session__device")
                .order_by("zone", "sensor", "elapsed_s")
                .iterator(chunk_size=2000)
            )
            for reading in readings:
                yield full_url(reading), observation(reading, version)
    labels = [_audit_label(record) for record in records]
    # A screening becomes DetectedIssues, not one resource: its audit entries name it as text.
    targets = {
        label: record
        for label, record in zip(labels, records, strict=True)
        if not isinstance(record, ScreeningResponse)
    }
    for entry in _audit_entries(labels):
        yield (
            f"urn:uuid:{uuid.uuid5(NAMESPACE, f'audit:{entry.seq}')}",
            audit_event(entry, targets, version),
        )


def _envelope(at: dt.datetime | None) -> dict[str, Any]:
    return {"type": "collection", "timestamp": _instant(at or dt.datetime.now(dt.UTC))}


def client_bundle(client: Client, version: Version = "R5", *, at: dt.datetime | None = None) -> Any:
    """One client's record as a validated ``collection`` Bundle (:func:`bundle_entries`)."""
    entries = [
        {"fullUrl": url, "resource": resource.model_dump(mode="json", exclude_none=True)}
        for url, resource in bundle_entries(client, version)
    ]
    return build("Bundle", {**_envelope(at), "entry": entries}, version)


def bundle_json(
    client: Client, version: Version = "R5", *, at: dt.datetime | None = None
) -> Iterator[bytes]:
    """The same Bundle as JSON, piece by piece, for records too large to hold twice: the
    envelope is validated on its own and each resource as it is built
    (:func:`bundle_entries`), and each is written as soon as it is."""
    envelope = build("Bundle", _envelope(at), version)
    head = envelope.model_dump_json(exclude_none=True)
    yield head[:-1].encode() + b',"entry":['
    for index, (url, resource) in enumerate(bundle_entries(client, version)):
        separator = b"," if index else b""
        yield (
            separator
            + b'{"fullUrl":'
            + json.dumps(url).encode()
            + b',"resource":'
            + resource.model_dump_json(exclude_none=True).encode()
            + b"}"
        )
    yield b"]}"


def _audit_entries(labels: list[str]) -> Iterable[AuditEntry]:
    return AuditEntry.objects.filter(target__in=labels).order_by("seq")
