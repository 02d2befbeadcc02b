"""What a practitioner reads instead of an identifier, and how a temperature reads.

One source per vocabulary: a label is written once, in the table that defines the
identifier (zones in tissue.toml, modalities and goals in protocols.toml, screening rules
and recent procedures in contraindications.toml) or, for vocabularies without a table of
their own, in labels.toml. Every adapter asks here: the clinic's ``label`` template filter
and its model choices, the PDF report, ``cryoderm screen`` and ``cryoderm plan``::

    from cryoderm.data import labels
    labels.label("rule", "raynauds")              # "Raynaud's phenomenon"
    labels.label_list("zone", ["cheek", "nose"])  # "Cheek (zygoma, malar), Nose (nasal dorsum)"
    labels.celsius(-2)                            # "−2.0 °C"
    labels.celsius(4, signed=True)                # "+4.0 °C"
    labels.kelvin(1.25)                           # "1.2 K" (a difference)

An identifier a vocabulary does not know (a free-text alarm code, a record older than the
table) is shown as written, so that a missing label is visible rather than invented.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from functools import cache
from types import MappingProxyType
from typing import Any

from cryoderm.data import load_table

#: The minus sign (U+2212): a hyphen before a number reads as a dash.
MINUS = "\u2212"

#: Vocabularies labelled in labels.toml (the others are labelled in their own tables).
_OWN_TABLE = ("grade", "gate", "alarm", "stop-reason", "reading", "fault", "applicator", "layer")

VOCABULARIES = ("zone", "modality", "goal", "rule", "procedure", *_OWN_TABLE)


def _rows(rows: Iterable[Mapping[str, Any]], key: str) -> dict[str, str]:
    return {str(row[key]): str(row["label"]) for row in rows}


def _build(name: str) -> dict[str, str]:
    if name == "zone":
        return {z: str(row["label"]) for z, row in load_table("tissue")["zone"].items()}
    if name == "modality":
        return {m: str(row["label"]) for m, row in load_table("protocols")["modality"].items()}
    if name == "goal":
        return _rows(load_table("protocols")["goal"], "id")
    table = load_table("contraindications")
    if name == "rule":
        return _rows([*table["condition"], *table["rule"]], "id")
    if name == "procedure":
        return _rows(table["waiting_period"], "kind")
    return {str(k): str(v) for k, v in load_table("labels")[name].items()}


@cache
def vocabulary(name: str) -> Mapping[str, str]:
    """Every identifier of vocabulary ``name`` with its label (one of :data:`VOCABULARIES`)."""
    if name not in VOCABULARIES:
        raise KeyError(f"no vocabulary {name!r}; known: {', '.join(VOCABULARIES)}")
    return MappingProxyType(_build(name))


def label(name: str, ident: object) -> str:
    """The label of ``ident`` in vocabulary ``name``; an unknown identifier as written."""
    text = "" if ident is None else str(ident)
    return vocabulary(name).get(text, text)


def label_list(name: str, idents: Iterable[object]) -> str:
    """The labels of ``idents``, comma-separated, in the given order."""
    return ", ".join(label(name, ident) for ident in idents)


def _finite(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def signed_number(value: float, digits: int = 1, *, signed: bool = False) -> str:
    """``-2`` -> ``−2.0``; with ``signed``, ``4`` -> ``+4.0``; zero never carries a sign."""
    text = f"{abs(value):.{digits}f}"
    if float(text) == 0.0:
        return text
    if value < 0:
        return MINUS + text
    return f"+{text}" if signed else text


def celsius(value: object, digits: int = 1, *, signed: bool = False, missing: str = "—") -> str:
    """A temperature: ``−2.0 °C``, or ``+4.0 °C`` with ``signed`` (where the side of zero
    matters: floors, target bands, cold gas); ``missing`` for no finite value."""
    number = _finite(value)
    if number is None:
        return missing
    return f"{signed_number(number, digits, signed=signed)} °C"


def celsius_range(low: object, high: object, digits: int = 1) -> str:
    """A temperature band, signed: ``+2.0 to +4.0 °C``."""
    lo, hi = _finite(low), _finite(high)
    if lo is None or hi is None:
        return "—"
    return (
        f"{signed_number(lo, digits, signed=True)} to {signed_number(hi, digits, signed=True)} °C"
    )


def kelvin(value: object, digits: int = 1, *, signed: bool = False, missing: str = "—") -> str:
    """A temperature difference: ``1.2 K``, ``−0.5 K`` (``+0.5 K`` with ``signed``)."""
    number = _finite(value)
    if number is None:
        return missing
    return f"{signed_number(number, digits, signed=signed)} K"
