"""Every identifier a practitioner might meet has one label, and temperatures read with their
sign and unit (cryoderm.data.labels)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

import cryoderm.interlock.guard as guard
import cryoderm.interlock.runtime as runtime
from cryoderm.clinical.rules import GRADES, load_rulebook
from cryoderm.data import labels, load_table
from cryoderm.interlock.faults import FAULT_KINDS
from cryoderm.interlock.model import InvalidReason, StopReason

#: Each vocabulary and the identifiers it must label, taken from where they are defined.
DEFINED = {
    "zone": lambda: load_table("thresholds")["zones"],
    "modality": lambda: load_table("thresholds")["modalities"],
    "goal": lambda: [g["id"] for g in load_table("protocols")["goal"]],
    "rule": lambda: list(load_rulebook().rules),
    "procedure": lambda: list(load_rulebook().procedure_kinds),
    "grade": lambda: list(GRADES),
    "stop-reason": lambda: [r.value for r in StopReason],
    "fault": lambda: list(FAULT_KINDS),
    "reading": lambda: [r.value for r in InvalidReason],
    "applicator": lambda: list(load_table("exposures")["applicator"]),
    "layer": lambda: list(load_table("tissue")["material"]),
}


@pytest.mark.parametrize("name", sorted(DEFINED))
def test_every_identifier_of_a_vocabulary_has_a_label(name: str) -> None:
    idents = DEFINED[name]()
    known = labels.vocabulary(name)
    assert [i for i in idents if i not in known] == []
    assert all(labels.label(name, i) != i for i in idents if "-" in i or "_" in i)


@pytest.mark.parametrize("name", labels.VOCABULARIES)
def test_labels_are_distinct_words_not_identifiers(name: str) -> None:
    known = labels.vocabulary(name)
    assert len(set(known.values())) == len(known), "two identifiers would read the same"
    assert all(text.strip() == text and text and "_" not in text for text in known.values())


def test_the_alarms_the_interlock_raises_are_labelled() -> None:
    raised = re.findall(r'self\._raise\(\s*"([a-z-]+)"', Path(guard.__file__).read_text())
    raised += re.findall(r'_technical\(\s*\w+,\s*"([a-z-]+)"', Path(runtime.__file__).read_text())
    # A stream that cannot be believed raises an alarm named by the reading's problem.
    raised += [InvalidReason.SEQUENCE_JUMP.value, InvalidReason.STREAM_CONTRADICTION.value]
    assert len(raised) > 8 and [c for c in raised if c not in labels.vocabulary("alarm")] == []


def test_an_unknown_identifier_is_shown_as_written_and_an_unknown_vocabulary_is_an_error() -> None:
    assert labels.label("alarm", "E-12 nozzle") == "E-12 nozzle"
    assert labels.label("zone", None) == ""
    with pytest.raises(KeyError, match="no vocabulary 'zones'"):
        labels.vocabulary("zones")


def test_lists_keep_their_order() -> None:
    assert labels.label_list("rule", ["raynauds", "pregnancy"]) == (
        "Raynaud's phenomenon, Pregnancy or lactation"
    )


@pytest.mark.parametrize(
    ("value", "signed", "text"),
    [
        (-2, False, "\u22122.0 °C"),
        (4, True, "+4.0 °C"),
        (4, False, "4.0 °C"),
        (-0.04, True, "0.0 °C"),
        (0, True, "0.0 °C"),
        (36.55, False, "36.5 °C"),
        (None, False, "—"),
        (math.nan, True, "—"),
        ("not a number", False, "—"),
    ],
)
def test_a_temperature_reads_with_its_sign_and_unit(value: object, signed: bool, text: str) -> None:
    assert labels.celsius(value, signed=signed) == text


def test_bands_are_signed_and_differences_are_in_kelvin() -> None:
    assert labels.celsius_range(2, 4) == "+2.0 to +4.0 °C"
    assert labels.celsius_range(-1, None) == "—"
    assert labels.kelvin(1.25) == "1.2 K"
    assert labels.kelvin(-0.5) == "\u22120.5 K"
    assert labels.kelvin(0.5, 2, signed=True) == "+0.50 K"
