"""The interlock's errors. Messages name the field, the value and what is allowed."""

from __future__ import annotations

from cryoderm.errors import CryodermError, NotPermitted, UserInputError


class InterlockError(CryodermError):
    """Base of every error the interlock raises on purpose."""


class InvalidInterlockInput(InterlockError, UserInputError):
    """A configuration value, command or message that the interlock cannot accept."""


class UnknownSession(InvalidInterlockInput):
    """A command names a session the interlock is not guarding."""


class UnknownAlarm(InvalidInterlockInput):
    """An acknowledgement names an alarm the session never raised."""


class ActionRefused(InterlockError, NotPermitted):
    """A well-formed action that the session's state forbids (e.g. resume after a stop)."""


class JournalInUse(InvalidInterlockInput):
    """Another live interlock holds the journal directory (one interlock per journal)."""


class BrokerUnavailable(InterlockError):
    """The MQTT broker cannot be reached (or refused the connection): a condition that may
    pass, so a supervisor tries again (exit code 1), unlike a configuration error."""


class AnonymousBroker(InvalidInterlockInput):
    """The broker lets an anonymous client publish readings: anyone could mask a sensor."""


class BrokerRefused(InvalidInterlockInput):
    """The broker answered and refused the login (user name, password, TLS): a
    configuration to correct, not a condition to wait out."""


class JournalFailed(InterlockError):
    """The journal cannot record (a full disk, an I/O error): a running interlock has
    stopped every device and guards nothing more until it can write again; one starting
    ends with exit code 1, and a supervisor tries again."""
