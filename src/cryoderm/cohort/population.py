"""Virtual populations: one facial zone's tissue, varied person to person within sourced spreads.

A :class:`VirtualPopulation` names the zone, the sex mix, the age range and the seed. Its
:meth:`~VirtualPopulation.sample` draws, for every subject:

- sex (female / male, or a mix) and age (whole years, uniform within the range);
- dermis and fat thickness from normals truncated at mean +/- 2 SD, the mean being the zone's
  sex- and age-refined value of data/tissue.toml and the SD its coefficient of variation in
  data/cohort.toml (Meng 2022 for the dermis, Kim 2019 for the fat);
- the dermal basal perfusion, log-uniform over the 1-5e-3 1/s range of data/cohort.toml.

The epidermis and the deep layer keep the zone's values (no spread is sourced for them).
Sampling is vectorised and deterministic for a seed (numpy's default Generator).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import numpy as np

from cryoderm.cohort.errors import InvalidCohort
from cryoderm.data import load_table
from cryoderm.physics.bounds import default
from cryoderm.physics.case import Tissue
from cryoderm.physics.lanes import LaneTissues
from cryoderm.physics.spreads import thickness_quantile
from cryoderm.physics.zones import age_rule, tissue_for_zone, zone_names

SEX_MIXES = ("female", "male", "mixed")
#: The most subjects one call may draw (memory stays under ~50 MB).
MAX_SUBJECTS = 1_000_000

SexMix = Literal["female", "male", "mixed"]


@cache
def _spread() -> dict[str, Any]:
    return load_table("cohort")


def _value(section: str, key: str) -> float:
    return float(_spread()[section][key]["value"])


def adult_age_range_years() -> tuple[int, int]:
    """The ages (years) the zone tables support (data/tissue.toml [age]), as whole years."""
    rule = age_rule()
    return math.ceil(rule["min_age_years"].value), math.floor(rule["max_age_years"].value)


@dataclass(frozen=True, eq=False)
class Subjects:
    """Sampled subjects of one zone, as columns (one entry per subject).

    female: True for a woman; age_years: whole years; dermis_mm, fat_mm: layer thicknesses
    (mm); dermis_perfusion_per_s: basal dermal perfusion (1/s, volumetric)."""

    zone: str
    female: np.ndarray
    age_years: np.ndarray
    dermis_mm: np.ndarray
    fat_mm: np.ndarray
    dermis_perfusion_per_s: np.ndarray

    def __len__(self) -> int:
        return int(self.female.shape[0])

    def block(self, start: int, stop: int) -> Subjects:
        """Subjects ``start`` to ``stop - 1`` (copies: a block travels alone to a worker)."""
        return Subjects(
            zone=self.zone,
            female=self.female[start:stop].copy(),
            age_years=self.age_years[start:stop].copy(),
            dermis_mm=self.dermis_mm[start:stop].copy(),
            fat_mm=self.fat_mm[start:stop].copy(),
            dermis_perfusion_per_s=self.dermis_perfusion_per_s[start:stop].copy(),
        )

    def tissue(
        self,
        k: int,
        *,
        core_temp_c: float = default("tissue.core_temp_c"),
        arterial_temp_c: float = default("tissue.arterial_temp_c"),
    ) -> Tissue:
        """Subject ``k``'s layered tissue: the zone's, with its own dermis, fat and perfusion."""
        base = tissue_for_zone(
            self.zone,
            sex="female" if self.female[k] else "male",
            age_years=float(self.age_years[k]),
            core_temp_c=core_temp_c,
            arterial_temp_c=arterial_temp_c,
            thickness_overrides_mm={
                "dermis": float(self.dermis_mm[k]),
                "fat": float(self.fat_mm[k]),
            },
        )
        perfusion = float(self.dermis_perfusion_per_s[k])
        layers = tuple(
            dataclasses.replace(layer, perfusion_per_s=perfusion)
            if layer.name == "dermis"
            else layer
            for layer in base.layers
        )
        return dataclasses.replace(base, layers=layers)

    def lanes(
        self,
        *,
        core_temp_c: float = default("tissue.core_temp_c"),
        arterial_temp_c: float = default("tissue.arterial_temp_c"),
    ) -> tuple[Tissue, LaneTissues]:
        """Every subject's tissue as columns for the engine's lanes (physics/lanes.py): a
        base tissue (the zone's layers and properties) and each subject's thickness and
        perfusion per layer; subject k's row describes :meth:`tissue` (k) (tested)."""
        size = len(self)
        by_sex = {
            sex: tissue_for_zone(
                self.zone, sex=sex, core_temp_c=core_temp_c, arterial_temp_c=arterial_temp_c
            )
            for sex in ("female", "male")
        }
        base = by_sex["female"]
        names = [layer.name for layer in base.layers]
        # Only the thickness differs with sex in the zone tables (data/tissue.toml); the
        # other properties are the layer's.
        for female, male in zip(base.layers, by_sex["male"].layers, strict=True):
            assert dataclasses.replace(male, thickness_mm=female.thickness_mm) == female
        thickness = np.where(
            self.female[:, None],
            [layer.thickness_mm for layer in base.layers],
            [layer.thickness_mm for layer in by_sex["male"].layers],
        )
        perfusion = np.empty((size, len(names)))
        perfusion[:] = [layer.perfusion_per_s for layer in base.layers]
        dermis, fat = names.index("dermis"), names.index("fat")
        thickness[:, dermis] = self.dermis_mm
        thickness[:, fat] = self.fat_mm
        perfusion[:, dermis] = self.dermis_perfusion_per_s
        return base, LaneTissues(thickness, perfusion)


@dataclass(frozen=True)
class VirtualPopulation:
    """Who the virtual subjects are.

    zone: a built-in facial zone (data/tissue.toml). sex: "female", "male" or "mixed" (the
    mixed female fraction is in data/cohort.toml). age_min_years / age_max_years: whole
    years within the tables' adult range (None: that range's bound). seed: the random seed;
    the same population and n always give the same subjects.
    Raises InvalidCohort naming the field for a bad value."""

    zone: str
    sex: SexMix = "mixed"
    age_min_years: int | None = None
    age_max_years: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.zone not in zone_names():
            raise InvalidCohort(
                "population.zone",
                self.zone,
                "one of the built-in zones: " + ", ".join(zone_names()),
            )
        if self.sex not in SEX_MIXES:
            raise InvalidCohort("population.sex", self.sex, "one of " + ", ".join(SEX_MIXES))
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise InvalidCohort("population.seed", self.seed, "a whole number >= 0")
        low, high = adult_age_range_years()
        for name in ("age_min_years", "age_max_years"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high
            ):
                raise InvalidCohort(
                    f"population.{name}",
                    value,
                    f"whole years from {low} to {high} (the adult range of the tissue tables)",
                    "years",
                )
        first, last = self.age_range_years
        if first > last:
            raise InvalidCohort(
                "population.age_min_years", first, f"at most age_max_years ({last})", "years"
            )

    @property
    def age_range_years(self) -> tuple[int, int]:
        """The (first, last) age drawn, in whole years."""
        low, high = adult_age_range_years()
        return (
            low if self.age_min_years is None else self.age_min_years,
            high if self.age_max_years is None else self.age_max_years,
        )

    @property
    def female_fraction(self) -> float:
        if self.sex == "female":
            return 1.0
        if self.sex == "male":
            return 0.0
        return _value("sex", "mixed_female_fraction")

    def sample(self, n: int) -> Subjects:
        """``n`` subjects (1 <= n <= MAX_SUBJECTS); deterministic for the population's seed."""
        check_n(n)
        rng = np.random.default_rng(self.seed)
        first, last = self.age_range_years
        female = rng.random(n) < self.female_fraction
        ages = rng.integers(first, last + 1, size=n)
        u_dermis, u_fat, u_perfusion = rng.random(n), rng.random(n), rng.random(n)

        dermis_mean = np.empty(n)
        fat_mean = np.empty(n)
        for is_female in (True, False):
            sex = "female" if is_female else "male"
            for age in np.unique(ages[female == is_female]):
                layers = {
                    layer.name: layer.thickness_mm
                    for layer in tissue_for_zone(self.zone, sex=sex, age_years=float(age)).layers
                }
                rows = (female == is_female) & (ages == age)
                dermis_mean[rows] = layers["dermis"]
                fat_mean[rows] = layers["fat"]
        dermis_cv = np.where(female, _value("dermis", "cv_female"), _value("dermis", "cv_male"))
        dermis = thickness_quantile("dermis", dermis_mean, dermis_cv, u_dermis)
        fat = thickness_quantile("fat", fat_mean, _value("fat", "cv"), u_fat)
        low = math.log(_value("perfusion", "dermis_min_per_s"))
        high = math.log(_value("perfusion", "dermis_max_per_s"))
        perfusion = np.exp(low + u_perfusion * (high - low))
        return Subjects(self.zone, female, ages.astype(np.int64), dermis, fat, perfusion)


def check_n(n: object) -> None:
    """InvalidCohort unless ``n`` is a whole number of subjects from 1 to MAX_SUBJECTS."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_SUBJECTS:
        raise InvalidCohort("n", n, f"a whole number of subjects from 1 to {MAX_SUBJECTS}")
