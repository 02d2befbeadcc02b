"""FHIR export of clinic records with fhir.resources: R5 by default, R4B where asked.

Patient, Practitioner, Device, Observation (LOINC 61008-9 body surface temperature, UCUM
Cel, SNOMED CT body sites where sourced), Procedure, Consent, DetectedIssue (contraindication
findings) and AuditEvent, each validated by the library; :func:`client_bundle` builds one
client's record, :func:`bundle_json` writes it piece by piece, and :func:`export_client`
is the audited export the CLI and the API call. See docs/fhir.md.
"""

from .export import Export, export_client
from .resources import (
    VERSIONS,
    audit_event,
    bundle_json,
    client_bundle,
    consent,
    detected_issues,
    device,
    observation,
    patient,
    practitioner,
    procedure,
)

__all__ = [
    "VERSIONS",
    "Export",
    "audit_event",
    "bundle_json",
    "client_bundle",
    "consent",
    "detected_issues",
    "device",
    "export_client",
    "observation",
    "patient",
    "practitioner",
    "procedure",
]
