"""The web's way to the interlock, which runs in a process of its own: its journal (read)
and its control channel (commands), both in the journal directory.

The directory is CRYODERM_INTERLOCK_DIR, or ``interlock`` under the clinic's data directory
(where ``cryoderm serve`` starts its interlock). One journal reader and one control client
per process and directory, shared by every thread (they lock internally)."""

from __future__ import annotations

import threading
from pathlib import Path

from django.conf import settings

from cryoderm.interlock import ControlClient, Journal
from cryoderm.interlock.control import InterlockHealth

_lock = threading.Lock()
_open: dict[Path, tuple[Journal, ControlClient]] = {}


def journal_dir() -> Path:
    """CRYODERM_INTERLOCK_DIR, or ``interlock`` under the clinic's data directory."""
    configured = getattr(settings, "CRYODERM_INTERLOCK_DIR", None)
    return Path(configured) if configured else Path(settings.DATA_DIR) / "interlock"


def _pair() -> tuple[Journal, ControlClient]:
    directory = journal_dir()
    with _lock:
        if directory not in _open:
            _open[directory] = (Journal(directory), ControlClient(directory))
        return _open[directory]


def journal() -> Journal:
    """The interlock's journal, for reading (readings, alarms, stops, command outcomes)."""
    return _pair()[0]


def control() -> ControlClient:
    """The interlock's control channel (start, stop, resume ... a zone)."""
    return _pair()[1]


def health() -> InterlockHealth:
    """Whether the interlock is alive (its loop made progress lately), and why not."""
    return control().health()
