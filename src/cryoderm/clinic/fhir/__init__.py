"""FHIR export of clinic records with fhir.resources: R5 by default, R4B where asked.

Patient, Practitioner, Device, Observation (LOINC 61008-9 body surface temperature, UCUM
Cel, SNOMED CT body sites where sourced), Procedure, Consent, DetectedIssue (contraindication
findings) and AuditEvent, each validated by the library; :func:`client_bundle` exports one
client's record. See docs/fhir.md.
"""

from .export import export_client
from .resources import (
    VERSIONS,
    audit_event,
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
    "audit_event",
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
