"""The sourced spreads of a case's tissue and perfusion, as study parameters.

One source of truth: the between-person spreads of ``data/cohort.toml`` (the virtual
cohorts draw from the same numbers), applied to the case's own layers:

- dermis thickness: normal around the case's dermis, SD = mean x CV (Meng 2022 forehead CVs,
  by sex), truncated at mean +/- 2 SD and within the table's absolute bounds;
- superficial fat thickness: the same with the fat CV (Kim 2019);
- dermal basal perfusion: log-uniform over the table's range.

Each parameter's ``source`` is the table's own source text, so a study reports where every
spread came from. Layers the case does not have are skipped.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from cryoderm.data import load_table
from cryoderm.physics.case import Case
from cryoderm.research.parameters import LogUniform, Parameter, TruncatedNormal

# assumption: a case that names no sex is the mean of both (casefile); the wider (male)
# dermis CV keeps its spread from being understated.
UNSTATED_SEX_CV = "cv_male"


@cache
def _table() -> dict[str, Any]:
    return load_table("cohort")


def _entry(section: str, key: str) -> tuple[float, str]:
    row = _table()[section][key]
    return float(row["value"]), str(row["source"])


def _thickness(case: Case, layer: str, cv_key: str) -> Parameter | None:
    names = [item.name for item in case.tissue.layers]
    if layer not in names:
        return None
    mean = case.tissue.layers[names.index(layer)].thickness_mm
    cv, cv_source = _entry(layer, cv_key)
    k, k_source = _entry("truncation", "sd_multiple")
    low_mm, low_source = _entry(layer, "min_mm")
    high_mm, high_source = _entry(layer, "max_mm")
    sd = cv * mean
    low, high = max(mean - k * sd, low_mm), min(mean + k * sd, high_mm)
    if not low < mean < high:
        return None
    source = f"CV {cv:g}: {cv_source}. Truncation: {k_source}. Bounds: {low_source}; {high_source}"
    return Parameter(
        f"tissue.layer[{layer}].thickness_mm",
        TruncatedNormal(mean, sd, low, high),
        source,
        label=f"{layer} thickness",
    )


def case_spreads(case: Case) -> list[Parameter]:
    """The sourced spreads (data/cohort.toml) of ``case``'s dermis, fat and dermal perfusion."""
    sex = case.tissue.sex
    dermis_cv = {"female": "cv_female", "male": "cv_male"}.get(sex or "", UNSTATED_SEX_CV)
    found = [_thickness(case, "dermis", dermis_cv), _thickness(case, "fat", "cv")]
    parameters = [p for p in found if p is not None]
    if "dermis" in [layer.name for layer in case.tissue.layers]:
        low, low_source = _entry("perfusion", "dermis_min_per_s")
        high, _ = _entry("perfusion", "dermis_max_per_s")
        shape = str(_table()["perfusion"]["distribution_source"])
        parameters.append(
            Parameter(
                "tissue.layer[dermis].perfusion_per_s",
                LogUniform(low, high),
                f"range: {low_source}; distribution: {shape}",
                label="dermis perfusion",
            )
        )
    return parameters
