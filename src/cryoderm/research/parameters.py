"""Uncertain inputs of a study: a case key path, a distribution and its source.

A :class:`Parameter` says which input of a case varies (a key path, :mod:`.keys`), how (a
bounded distribution of the value, or of a factor on the case's own value with
``mode="scale"``), and where that spread comes from (a bibliography key or an explicit
``assumption: ...``). Sensitivity studies, sweeps and fits all take parameters in this one
form; :func:`parameters_from_tables` reads them from ``[[parameter]]`` tables of a TOML file.

``key = "spread:<name>"`` names a sourced spread of ``data/spreads.toml`` instead
(physics.spreads: the table's own distribution, source and rule for putting the value into a
case, e.g. a cold-air h factor applied through the air speed): research.spreads builds
these for a case, so studies and the planner's prediction intervals share one table.

Every distribution is bounded (its quantile function is finite on [0, 1]), so a Morris
design's extreme levels and a Sobol design's points all map to simulable values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri

from cryoderm.physics.case import Case
from cryoderm.physics.errors import InvalidInput
from cryoderm.physics.spreads import Spread
from cryoderm.research.errors import InvalidStudy
from cryoderm.research.keys import MODES, KeyPath, Mode, parse_key

DISTRIBUTIONS = ("uniform", "log-uniform", "normal")


@dataclass(frozen=True)
class Uniform:
    """Uniform between low and high."""

    low: float
    high: float

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return self.low + np.asarray(u, dtype=float) * (self.high - self.low)

    def describe(self) -> str:
        return f"uniform {self.low:g} to {self.high:g}"


@dataclass(frozen=True)
class LogUniform:
    """Uniform in the logarithm between low and high (both > 0): every factor alike."""

    low: float
    high: float

    def ppf(self, u: np.ndarray) -> np.ndarray:
        a, b = math.log(self.low), math.log(self.high)
        return np.exp(a + np.asarray(u, dtype=float) * (b - a))

    def describe(self) -> str:
        return f"log-uniform {self.low:g} to {self.high:g}"


@dataclass(frozen=True)
class TruncatedNormal:
    """Normal (mean, sd) truncated to [low, high]."""

    mean: float
    sd: float
    low: float
    high: float

    def ppf(self, u: np.ndarray) -> np.ndarray:
        a = ndtr((self.low - self.mean) / self.sd)
        b = ndtr((self.high - self.mean) / self.sd)
        values = self.mean + self.sd * ndtri(a + np.asarray(u, dtype=float) * (b - a))
        # Clipping guards the last ulp of ndtri at the bounds.
        return np.clip(values, self.low, self.high)

    def describe(self) -> str:
        return f"normal {self.mean:.4g} ± {self.sd:.3g} within {self.low:.4g} to {self.high:.4g}"


class SpreadQuantiles:
    """The distribution of a sourced spread (physics.spreads) for one case: its quantile
    function is the spread's own (truncated normal, uniform or log-uniform of the table)."""

    def __init__(self, spread: Spread, case: Case) -> None:
        self.spread = spread
        self.case = case
        self.low = spread.value(case, 0.0)
        self.high = spread.value(case, 1.0)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return np.array([self.spread.value(self.case, float(x)) for x in np.ravel(u)])

    def describe(self) -> str:
        kind = self.spread.distribution
        scale = "factor " if self.spread.mode == "factor" else ""
        unit = "" if self.spread.unit == "1" else f" {self.spread.unit}"
        return f"{scale}{kind} {self.low:.4g} to {self.high:.4g}{unit}"


Distribution = Uniform | LogUniform | TruncatedNormal | SpreadQuantiles
SPREAD_PREFIX = "spread:"


@dataclass(frozen=True)
class Parameter:
    """One uncertain input.

    key: a case key path (``phase[1].heat_transfer_w_m2k``; see research.keys).
    distribution: of the value (mode "set") or of a factor on the case's value ("scale").
    source: where the spread comes from: a bibliography key (data/references.toml) with what
    was taken, or ``assumption: <reasoning>``. label: a short name for tables and plots
    (default: the key)."""

    key: str
    distribution: Distribution
    source: str
    mode: Mode = "set"
    label: str = ""
    path: KeyPath | None = field(init=False, repr=False, compare=False)
    spread: Spread | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        named = self.key.startswith(SPREAD_PREFIX) if isinstance(self.key, str) else False
        object.__setattr__(self, "spread", _spread(self.key) if named else None)
        object.__setattr__(self, "path", None if named else parse_key(self.key))
        if self.mode not in MODES:
            raise InvalidStudy(f"{self.key}.mode", self.mode, "one of: " + ", ".join(MODES))
        if not isinstance(self.source, str) or not self.source.strip():
            raise InvalidStudy(
                f"{self.key}.source",
                self.source,
                "where the spread comes from: a reference key or 'assumption: ...'",
            )
        _check_distribution(self.key, self.distribution)

    @property
    def name(self) -> str:
        return self.label or self.key

    def values(self, u: np.ndarray) -> np.ndarray:
        """Quantiles ``u`` in [0, 1] mapped to values (or factors)."""
        return self.distribution.ppf(u)


def _spread(key: str) -> Spread:
    from cryoderm.physics.spreads import spread, spreads

    name = key[len(SPREAD_PREFIX) :]
    try:
        return spread(name)
    except InvalidInput:
        known = ", ".join(SPREAD_PREFIX + s.name for s in spreads())
        raise InvalidStudy("key", key, f"a sourced spread of data/spreads.toml: {known}") from None


def _check_distribution(key: str, dist: Distribution) -> None:
    if isinstance(dist, SpreadQuantiles):
        return
    numbers = [getattr(dist, name) for name in ("low", "high")]
    if not all(isinstance(v, int | float) and math.isfinite(v) for v in numbers):
        raise InvalidStudy(f"{key}.low/high", numbers, "finite numbers")
    low, high = numbers
    if not low < high:
        raise InvalidStudy(f"{key}.low", low, f"below high ({high:g})")
    if isinstance(dist, LogUniform) and low <= 0:
        raise InvalidStudy(f"{key}.low", low, "a number > 0 for a log-uniform spread")
    if isinstance(dist, TruncatedNormal):
        if not (math.isfinite(dist.sd) and dist.sd > 0):
            raise InvalidStudy(f"{key}.sd", dist.sd, "a number > 0")
        if not (math.isfinite(dist.mean) and low <= dist.mean <= high):
            raise InvalidStudy(f"{key}.mean", dist.mean, f"within low to high ({low:g}-{high:g})")


def unit_to_values(parameters: Sequence[Parameter], unit: np.ndarray) -> np.ndarray:
    """Rows of quantiles in [0, 1]^D mapped column by column to the parameters' values."""
    unit = np.atleast_2d(np.asarray(unit, dtype=float))
    return np.column_stack([p.values(unit[:, j]) for j, p in enumerate(parameters)])


def check_unique(parameters: Sequence[Parameter]) -> None:
    """InvalidStudy when two parameters name the same input or label."""
    seen: set[str] = set()
    for index, parameter in enumerate(parameters, 1):
        for name in {parameter.key, parameter.name}:
            if name in seen:
                raise InvalidStudy(f"parameter[{index}]", name, "a key and label used once")
            seen.add(name)
    if not parameters:
        raise InvalidStudy("parameter", "[]", "at least one [[parameter]]")


# ------------------------------------------------------------------ from TOML tables
PARAMETER_KEYS = ("key", "distribution", "low", "high", "mean", "sd", "mode", "source", "label")


def number_in(table: Mapping[str, Any], name: str, where: str) -> float:
    """``table[name]`` as a finite number; InvalidStudy naming ``where.name`` otherwise."""
    value = table.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidStudy(f"{where}.{name}", value if name in table else "(missing)", "a number")
    return float(value)


def parameter_from_table(
    table: Mapping[str, Any], where: str, case: Case | None = None
) -> Parameter:
    """One ``[[parameter]]`` table (keys: key, distribution, low, high, mean, sd, mode,
    source, label); ``where`` names it in messages (``parameter[2]``). A ``spread:<name>``
    key takes its distribution and source from data/spreads.toml for ``case``."""
    if not isinstance(table, Mapping):
        raise InvalidStudy(where, table, "a table: write it as [[parameter]]")
    for name in table:
        if name not in PARAMETER_KEYS:
            raise InvalidStudy(
                f"{where}.{name}", table[name], "unknown key; valid: " + ", ".join(PARAMETER_KEYS)
            )
    key = table.get("key")
    if not isinstance(key, str):
        raise InvalidStudy(f"{where}.key", key if "key" in table else "(missing)", "a key path")
    if key.startswith(SPREAD_PREFIX):
        extra = sorted(set(table) - {"key", "label"})
        if extra or case is None:
            raise InvalidStudy(
                f"{where}.{extra[0] if extra else 'key'}",
                key,
                "a sourced spread takes only key and label (its distribution and source are "
                "the table's)",
            )
        spread = _spread(key)
        label = table.get("label", spread.name)
        return Parameter(key, SpreadQuantiles(spread, case), spread.source, label=str(label))
    parse_key(key, f"{where}.key")
    kind = table.get("distribution", "uniform")
    low, high = number_in(table, "low", where), number_in(table, "high", where)
    dist: Distribution
    if kind == "uniform":
        dist = Uniform(low, high)
    elif kind == "log-uniform":
        dist = LogUniform(low, high)
    elif kind == "normal":
        dist = TruncatedNormal(
            number_in(table, "mean", where), number_in(table, "sd", where), low, high
        )
    else:
        raise InvalidStudy(f"{where}.distribution", kind, "one of: " + ", ".join(DISTRIBUTIONS))
    mode = table.get("mode", "set")
    if mode not in MODES:
        raise InvalidStudy(f"{where}.mode", mode, "one of: " + ", ".join(MODES))
    source = table.get("source", "")
    if not isinstance(source, str) or not source.strip():
        raise InvalidStudy(
            f"{where}.source",
            source or "(missing)",
            "where the spread comes from: a reference key or 'assumption: ...'",
        )
    label = table.get("label", "")
    if not isinstance(label, str):
        raise InvalidStudy(f"{where}.label", label, "a text string")
    return Parameter(key, dist, source, "scale" if mode == "scale" else "set", label)


def parameters_from_tables(
    tables: object, where: str = "parameter", case: Case | None = None
) -> list[Parameter]:
    """The ``[[parameter]]`` array of a decoded TOML document (``case``: for spread keys)."""
    if not isinstance(tables, list):
        raise InvalidStudy(where, tables, "an array of tables: write each as [[parameter]]")
    parameters = [parameter_from_table(t, f"{where}[{k}]", case) for k, t in enumerate(tables, 1)]
    check_unique(parameters)
    return parameters
