"""All record models, one module per domain, re-exported here for Django and callers."""

from .adverse import AdverseEvent
from .choices import Modality
from .clients import Client, Correction
from .consent import Consent, ConsentScope, ConsentText
from .devices import CalibrationRecord, Device, DeviceFault, MaintenanceRecord
from .live import JournalCursor, SessionZone
from .outcomes import InstrumentalMeasure, OutcomeScore, Photo
from .policy import ClinicPolicy
from .scheduling import Appointment, Room
from .screening import ReferralSignOff, ScreeningResponse
from .sessions import Alarm, SessionEvent, SkinReading, TreatmentSession
from .staff import Practitioner, Qualification

__all__ = [
    "AdverseEvent",
    "Alarm",
    "Appointment",
    "CalibrationRecord",
    "Client",
    "ClinicPolicy",
    "Consent",
    "ConsentScope",
    "ConsentText",
    "Correction",
    "Device",
    "DeviceFault",
    "InstrumentalMeasure",
    "JournalCursor",
    "MaintenanceRecord",
    "Modality",
    "OutcomeScore",
    "Photo",
    "Practitioner",
    "Qualification",
    "ReferralSignOff",
    "Room",
    "ScreeningResponse",
    "SessionEvent",
    "SessionZone",
    "SkinReading",
    "TreatmentSession",
]
