"""Field types shared by the API schemas, so that the OpenAPI schema states every limit.

Texts refuse NUL characters (PostgreSQL cannot store them, and no clinical text has one);
ids are positive 64-bit integers (the databases' key range); numbers are finite."""

from __future__ import annotations

from typing import Annotated, Any

from ninja import Schema
from pydantic import AfterValidator, ConfigDict, Field

MAX_ID = 2**63 - 1


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("may not contain NUL characters")
    return value


def _json_without_nul(value: Any) -> Any:
    if isinstance(value, str):
        _no_nul(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _no_nul(str(key))
            _json_without_nul(item)
    elif isinstance(value, list):
        for item in value:
            _json_without_nul(item)
    return value


def text(max_length: int, min_length: int = 0) -> Any:
    """The type of a string of ``min_length`` to ``max_length`` characters without NUL."""
    return Annotated[
        str, Field(min_length=min_length, max_length=max_length), AfterValidator(_no_nul)
    ]


Name = text(100, 1)
Label = text(200, 1)
Line = text(200)
Email = text(254)
Phone = text(40)
Note = text(10_000)
Sensor = text(40, 1)
Unit = text(10, 1)
Signature = text(200_000, 1)
Secret = text(1024)


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
JsonObject = Annotated[dict[str, Any], AfterValidator(_json_without_nul)]
Finite = Annotated[float, Field(allow_inf_nan=False)]


class Body(Schema):
    """The base of every request body: a field the endpoint does not take is refused by
    name (422, ``"field": "status"``), never silently dropped. A caller who sends
    ``status``, ``practitioner``, ``signed_off_by``, ``created_by`` or another record's id
    (mass assignment) learns at once that the server decides those, and a client written
    against a field that was removed fails loudly instead of believing it was applied."""

    model_config = ConfigDict(extra="forbid")


def reason_and_changes(payload: Schema) -> tuple[str, dict[str, Any]]:
    """A correction body's reason and the fields it sets (only those sent: a field left out
    keeps its value; the service keeps the earlier value of each one changed)."""
    fields = payload.dict(exclude_unset=True)
    return fields.pop("reason"), fields
