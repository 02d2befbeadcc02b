"""The clinical layer's errors: one hierarchy, messages written for the practitioner.

Mapped to exit codes and HTTP statuses in exactly one place each (``cryoderm.cli`` and the
clinic's API error handler): an :class:`InvalidAnswer` is a user-input error (exit 2), a
:class:`TreatmentNotPermitted` is a refusal (exit 3)."""

from __future__ import annotations

from dataclasses import dataclass

from cryoderm.errors import CryodermError, NotPermitted, UserInputError


class ClinicalError(CryodermError):
    """Base of every error the clinical layer raises on purpose."""


# Not frozen: Python sets __traceback__ (and contextlib more) on a raised exception.
@dataclass(eq=False)
class InvalidAnswer(ClinicalError, UserInputError):
    """A screening answer or planning input that cannot be used.

    ``field`` is the path as the user wrote it (``recent_procedures[0].date``); ``allowed``
    says what would be accepted. Never silently treated as "clear"."""

    field: str
    value: object
    allowed: str
    unit: str = ""

    def __str__(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.field} = {self.value!r}{unit}: {self.allowed}"


# Not frozen: Python sets __traceback__ (and contextlib more) on a raised exception.
@dataclass(eq=False)
class TreatmentNotPermitted(ClinicalError, NotPermitted):
    """The screening verdict forbids treatment (``do-not-treat``): no plan is made.

    ``reasons`` are the findings that forbid it, one line each."""

    reasons: tuple[str, ...]

    def __str__(self) -> str:
        return "treatment not permitted, the verdict is Do not treat: " + "; ".join(self.reasons)
