"""The cohort layer's errors: messages name the field, the value, its unit and what is allowed.

Mapped to an exit code in ``cryoderm.cli`` (a UserInputError: exit 2)."""

from __future__ import annotations

from dataclasses import dataclass

from cryoderm.errors import CryodermError, UserInputError


class CohortError(CryodermError):
    """Base of every error the cohort layer raises on purpose."""


# Not frozen: Python sets __traceback__ on raised exceptions.
@dataclass(eq=False)
class InvalidCohort(CohortError, UserInputError):
    """A population, protocol or cluster setting that cannot be used.

    ``field`` is the name the user gave it (``population.age_min_years``, ``n``, ``scheduler``)."""

    field: str
    value: object
    allowed: str
    unit: str = ""

    def __str__(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.field} = {self.value!r}{unit}: {self.allowed}"
