"""Virtual subjects: one facial zone's tissue, varied person to person within sourced spreads.

A subject's tissue is the built-in zone refined by sex and age (data/tissue.toml), with its
dermis and fat thickness and dermal perfusion scaled by lognormal factors whose spreads are
in data/cohort.toml. Sampling is deterministic for a given seed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import numpy as np

from cryoderm.data import load_table
from cryoderm.physics.case import Tissue
from cryoderm.physics.zones import age_rule, tissue_for_zone, zone_names

MAX_SIZE = 100_000


@dataclass(frozen=True)
class Subject:
    """One virtual person.

    dermis_mm, fat_mm: layer thicknesses (mm); perfusion_scale: dermal perfusion over the
    table's default (1 = 2e-3 1/s)."""

    index: int
    sex: Literal["female", "male"]
    age_years: float
    dermis_mm: float
    fat_mm: float
    perfusion_scale: float


def _value(section: str, key: str) -> float:
    return float(load_table("cohort")[section][key]["value"])


def sample(zone: str, size: int, seed: int = 0) -> tuple[Subject, ...]:
    """``size`` subjects for ``zone``; ValueError for an unknown zone or a size out of range."""
    if zone not in zone_names():
        raise ValueError(f"zone {zone!r}: one of {', '.join(zone_names())}")
    if not 1 <= size <= MAX_SIZE:
        raise ValueError(f"size {size}: between 1 and {MAX_SIZE}")
    rng = np.random.default_rng(seed)
    rule = age_rule()
    female = rng.random(size) < _value("sex", "female_fraction")
    ages = rng.uniform(rule["min_age_years"].value, rule["max_age_years"].value, size)
    dermis_factor = np.exp(rng.normal(0.0, _value("dermis", "log_sd"), size))
    fat_factor = np.exp(rng.normal(0.0, _value("fat", "log_sd"), size))
    perfusion = np.exp(rng.normal(0.0, _value("perfusion", "log_sd"), size))
    low, high = _value("fat", "min_mm"), _value("fat", "max_mm")
    subjects = []
    for k in range(size):
        sex: Literal["female", "male"] = "female" if female[k] else "male"
        base = tissue_for_zone(zone, sex=sex, age_years=float(ages[k]))
        layers = {layer.name: layer for layer in base.layers}
        subjects.append(
            Subject(
                index=k,
                sex=sex,
                age_years=round(float(ages[k]), 1),
                dermis_mm=float(layers["dermis"].thickness_mm * dermis_factor[k]),
                fat_mm=float(np.clip(layers["fat"].thickness_mm * fat_factor[k], low, high)),
                perfusion_scale=float(perfusion[k]),
            )
        )
    return tuple(subjects)


def tissue(
    zone: str, subject: Subject, *, core_temp_c: float = 37.0, arterial_temp_c: float = 37.0
) -> Tissue:
    """The subject's layered tissue at ``zone``."""
    base = tissue_for_zone(
        zone,
        sex=subject.sex,
        age_years=subject.age_years,
        core_temp_c=core_temp_c,
        arterial_temp_c=arterial_temp_c,
        thickness_overrides_mm={"dermis": subject.dermis_mm, "fat": subject.fat_mm},
    )
    layers = tuple(
        dataclasses.replace(layer, perfusion_per_s=layer.perfusion_per_s * subject.perfusion_scale)
        if layer.name == "dermis"
        else layer
        for layer in base.layers
    )
    return dataclasses.replace(base, layers=layers)
