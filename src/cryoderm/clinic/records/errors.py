"""The records' errors: refusals (NotPermitted, HTTP 409 / exit 3), bad input
(UserInputError, HTTP 400/422 / exit 2) and missing records. Messages are for the clinician."""

from __future__ import annotations

from cryoderm.errors import CryodermError, NotPermitted, UserInputError


class RecordsError(CryodermError):
    """Base of every error the clinic's record services raise on purpose."""


class InvalidRecord(RecordsError, UserInputError):
    """A field of a record is wrong; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class RecordNotFound(RecordsError, UserInputError):
    """No record of that kind with that id."""

    def __init__(self, kind: str, ident: object) -> None:
        super().__init__(f"no {kind} with id {ident!r}")
        self.field = "id"
        self.kind = kind


class Conflict(RecordsError, NotPermitted):
    """The change would break a rule of the records (double booking, editing a signed consent)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
