"""The safety-limits registry: sourced floors, warnings and per-zone exposure limits."""

from __future__ import annotations

import pytest

from cryoderm.clinical.errors import InvalidAnswer
from cryoderm.clinical.limits import load_safety_limits
from cryoderm.errors import UserInputError

ZONES = (
    "forehead",
    "glabella",
    "temple",
    "periorbital",
    "cheek",
    "nose",
    "perioral",
    "chin",
    "jawline",
    "neck",
)


@pytest.mark.parametrize(
    ("modality", "floor_c"),
    [("ln2-vapour", 2.0), ("contact", 0.0), ("cold-air", 2.0)],
)
def test_floor_per_modality_matches_its_source(modality: str, floor_c: float) -> None:
    limits = load_safety_limits()
    for zone in ZONES:
        assert limits.floor_temp_c(zone, modality) == floor_c
        assert limits.warning_temp_c(zone, modality) > floor_c


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("tissue-freezing-point", -0.55),
        ("contact-frostnip", 0.0),
        ("contact-numbness", 7.0),
        ("contact-pain", 15.0),
        ("analgesia", 13.6),
        ("cold-pain", 10.0),
        ("ln2-band-low", 2.0),
        ("ln2-band-high", 4.0),
    ],
)
def test_named_thresholds_carry_the_published_values(name: str, value: float) -> None:
    threshold = load_safety_limits().threshold(name)
    assert threshold.value == value
    assert threshold.unit == "C"


def test_every_threshold_has_a_source_and_an_evidence_note() -> None:
    for threshold in load_safety_limits().all_thresholds():
        assert threshold.source.strip()
        assert threshold.evidence.strip()


def test_exposure_limits_are_per_zone_with_defaults() -> None:
    limits = load_safety_limits()
    assert limits.max_exposure_s("cheek", "ln2-vapour") == 60.0
    assert limits.max_exposure_s("nose", "ln2-vapour") < limits.max_exposure_s(
        "cheek", "ln2-vapour"
    )
    assert limits.max_exposure_s("periorbital", "cold-air") == 90.0
    assert limits.max_exposure_s("forehead", "contact") == 900.0
    assert "Radecka" in limits.exposure_limit("cheek", "cold-air").source


def test_registry_is_cached() -> None:
    assert load_safety_limits() is load_safety_limits()


@pytest.mark.parametrize(
    ("zone", "modality", "field"),
    [("elbow", "ln2-vapour", "zone"), ("cheek", "cryo-chamber", "modality")],
)
def test_unknown_zone_or_modality_is_a_user_error(zone: str, modality: str, field: str) -> None:
    with pytest.raises(InvalidAnswer) as caught:
        load_safety_limits().floor_temp_c(zone, modality)
    assert caught.value.field == field
    assert isinstance(caught.value, UserInputError)


def test_unknown_threshold_name_lists_the_known_ones() -> None:
    with pytest.raises(InvalidAnswer, match="analgesia"):
        load_safety_limits().threshold("warmth")
