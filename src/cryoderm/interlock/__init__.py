"""The live interlock: sensor sources, rules, stop commands, the durable journal.

Its own process (``cryoderm interlock``) or a thread of another; no Django, no web, no
clinic database. See docs/interlock.md for the API, the MQTT topics and the rules.
"""

from __future__ import annotations

import importlib
from typing import Any

# Exported lazily: `cryoderm --help` and every other command import this package for
# argument choices, and must not pay for the runtime, the journal and the transports.
_EXPORTS = {
    "ActionRefused": "cryoderm.interlock.errors",
    "Alarm": "cryoderm.interlock.model",
    "AlarmCategory": "cryoderm.interlock.model",
    "AlarmPriority": "cryoderm.interlock.model",
    "Clock": "cryoderm.interlock.clock",
    "CommandOutcome": "cryoderm.interlock.control",
    "ControlClient": "cryoderm.interlock.control",
    "DeviceCommand": "cryoderm.interlock.model",
    "EmbeddedTransport": "cryoderm.interlock.embedded",
    "GuardLimits": "cryoderm.interlock.model",
    "Interlock": "cryoderm.interlock.runtime",
    "InterlockError": "cryoderm.interlock.errors",
    "InterlockHealth": "cryoderm.interlock.control",
    "InvalidInterlockInput": "cryoderm.interlock.errors",
    "Journal": "cryoderm.interlock.journal",
    "JournalEntry": "cryoderm.interlock.journal",
    "ManualClock": "cryoderm.interlock.clock",
    "PlannedCurve": "cryoderm.interlock.model",
    "Reading": "cryoderm.interlock.model",
    "SessionSpec": "cryoderm.interlock.model",
    "SessionState": "cryoderm.interlock.model",
    "StopReason": "cryoderm.interlock.model",
    "SystemClock": "cryoderm.interlock.clock",
    "UnknownAlarm": "cryoderm.interlock.errors",
    "UnknownSession": "cryoderm.interlock.errors",
    "guard_limits": "cryoderm.interlock.limits",
}

__all__ = [
    "ActionRefused",
    "Alarm",
    "AlarmCategory",
    "AlarmPriority",
    "Clock",
    "CommandOutcome",
    "ControlClient",
    "DeviceCommand",
    "EmbeddedTransport",
    "GuardLimits",
    "Interlock",
    "InterlockError",
    "InterlockHealth",
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


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
