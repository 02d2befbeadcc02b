"""The code systems and codes of the export, from ``codes.toml`` beside this module."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any


@cache
def table() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("codes.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def body_site(zone: str) -> dict[str, Any]:
    """A CodeableConcept for a face zone: SNOMED CT where sourced, text always."""
    concept: dict[str, Any] = {"text": zone}
    site = table()["site"].get(zone)
    if site is not None:
        concept["coding"] = [
            {
                "system": table()["snomed"]["system"],
                "code": site["code"],
                "display": site["display"],
            }
        ]
    return concept


def coding(name: str) -> dict[str, str]:
    """The Coding ``name`` of the table (``observation``, ``category``)."""
    entry = table()[name]
    return {"system": entry["system"], "code": entry["code"], "display": entry["display"]}
