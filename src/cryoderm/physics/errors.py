"""The physics layer's errors: one hierarchy, messages written for the person who typed the input.

Mapped to exit codes and HTTP statuses in exactly one place each (``cryoderm.cli`` and the
clinic's API error handler)."""

from __future__ import annotations

from dataclasses import dataclass

from cryoderm.errors import CryodermError, UserInputError


class PhysicsError(CryodermError):
    """Base of every error the physics layer raises on purpose."""


# Not frozen: Python sets __traceback__ on exceptions from Python code (contextlib's
# @contextmanager does), which a frozen dataclass turns into FrozenInstanceError.
@dataclass(eq=False)
class InvalidInput(PhysicsError, UserInputError):
    """An input that cannot be simulated: names the field, the value, its unit and what is allowed.

    ``field`` is a dotted path as the user wrote it (``phase[2].gas_temp_c``)."""

    field: str
    value: object
    allowed: str
    unit: str = ""

    def __str__(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.field} = {self.value!r}{unit}: {self.allowed}"


class _Missing:
    """The value shown for a required key that is absent."""

    def __repr__(self) -> str:
        return "(missing)"


#: The value of an InvalidInput for a required key that is absent.
MISSING: object = _Missing()
