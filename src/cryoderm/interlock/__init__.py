"""The live interlock: sensor sources, rules, stop commands, the durable journal.

Its own process (``cryoderm interlock``) or a thread of another; no Django, no web, no
clinic database. See docs/interlock.md for the API, the MQTT topics and the rules.
"""

from __future__ import annotations

from cryoderm.interlock.clock import Clock, ManualClock, SystemClock
from cryoderm.interlock.control import ControlClient
from cryoderm.interlock.embedded import EmbeddedTransport
from cryoderm.interlock.errors import (
    ActionRefused,
    InterlockError,
    InvalidInterlockInput,
    UnknownAlarm,
    UnknownSession,
)
from cryoderm.interlock.journal import Journal, JournalEntry
from cryoderm.interlock.limits import guard_limits
from cryoderm.interlock.model import (
    Alarm,
    AlarmCategory,
    AlarmPriority,
    DeviceCommand,
    GuardLimits,
    PlannedCurve,
    Reading,
    SessionSpec,
    SessionState,
    StopReason,
)
from cryoderm.interlock.runtime import Interlock

__all__ = [
    "ActionRefused",
    "Alarm",
    "AlarmCategory",
    "AlarmPriority",
    "Clock",
    "ControlClient",
    "DeviceCommand",
    "EmbeddedTransport",
    "GuardLimits",
    "Interlock",
    "InterlockError",
    "InvalidInterlockInput",
    "Journal",
    "JournalEntry",
    "ManualClock",
    "PlannedCurve",
    "Reading",
    "SessionSpec",
    "SessionState",
    "StopReason",
    "SystemClock",
    "UnknownAlarm",
    "UnknownSession",
    "guard_limits",
]
