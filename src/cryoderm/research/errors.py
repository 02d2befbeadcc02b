"""The research layer's errors: messages name the field, the value, its unit and what is allowed.

Mapped to an exit code in ``cryoderm.cli`` (a UserInputError: exit 2)."""

from __future__ import annotations

from dataclasses import dataclass

from cryoderm.errors import CryodermError, UserInputError


class ResearchError(CryodermError):
    """Base of every error the research layer raises on purpose."""


# Not frozen: Python sets __traceback__ on raised exceptions.
@dataclass(eq=False)
class InvalidStudy(ResearchError, UserInputError):
    """A parameter, design, trace or option of a study that cannot be used.

    ``field`` names it as the user wrote it (``parameter[2].key``, ``trace.csv:time_s``)."""

    field: str
    value: object
    allowed: str
    unit: str = ""

    def __str__(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.field} = {self.value!r}{unit}: {self.allowed}"
