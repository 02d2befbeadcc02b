"""The result of one simulation, as a frozen value object mirroring the JSON output.

The JSON form (``to_json_dict``) is the "Output" of shared/case-format.md, format
``cryoderm-result/1``. No NaN ever reaches a caller: a run that failed is
``status == "failed"`` with a message and empty series; metrics that do not apply are None.
"""

from __future__ import annotations

import math
from collections.abc import Callable, ItemsView, Iterator, KeysView, Mapping, ValuesView
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

RESULT_FORMAT = "cryoderm-result/1"


class LazyRow(Mapping[str, Any]):
    """A read-only mapping built on first use by ``source(index)`` (one case's row of a
    batch's table: see metrics.Summaries). Pickles, copies and compares as a plain dict."""

    __slots__ = ("_index", "_source", "_values")

    def __init__(self, source: Callable[[int], Mapping[str, Any]], index: int) -> None:
        self._source = source
        self._index = index
        self._values: Mapping[str, Any] | None = None

    def _mapping(self) -> Mapping[str, Any]:
        values = self._values
        if values is None:
            values = self._values = self._source(self._index)
        return values

    def __getitem__(self, key: str) -> Any:
        return self._mapping()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._mapping())

    def __len__(self) -> int:
        return len(self._mapping())

    # The views and look-ups go straight to the built dict (the Mapping defaults would call
    # __getitem__ once per key).
    def __contains__(self, key: object) -> bool:
        return key in self._mapping()

    def get(self, key: str, default: Any = None) -> Any:
        return self._mapping().get(key, default)

    def keys(self) -> KeysView[str]:
        return self._mapping().keys()

    def items(self) -> ItemsView[str, Any]:
        return self._mapping().items()

    def values(self) -> ValuesView[Any]:
        return self._mapping().values()

    def __eq__(self, other: object) -> bool:
        return self._mapping() == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._mapping())

    def __reduce__(self) -> tuple[Any, ...]:
        # A pickled result must not carry its whole batch's table along.
        return (dict, (dict(self._mapping()),))

    def __copy__(self) -> dict[str, Any]:
        return dict(self._mapping())

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        return dict(self._mapping())


@dataclass(frozen=True, eq=False)
class Field:
    """The full temperature field, on request (case.output.full_field).

    depth_mm: node depths (surface 0 to the core boundary); temp_c[t, x] at the output
    times; perfusion_ratio[t, x]: local perfusion over its basal value (1 without a law)."""

    depth_mm: np.ndarray
    temp_c: np.ndarray
    perfusion_ratio: np.ndarray


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """What one simulation predicts (docs/physics.md, section 7 defines every metric).

    status: "ok", "failed" (the solver did not converge or produced a non-finite value:
    nothing else is then reported) or "invalid" (the case cannot be simulated; message
    names the field). time_s: output times (s from the start of phase 1). probes: probe
    name -> temperature series (C) at time_s. metrics and safety: flat name -> number
    (None where it does not apply), units in the names.
    """

    status: Literal["ok", "failed", "invalid"]
    message: str = ""
    time_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    probes: Mapping[str, np.ndarray] = field(default_factory=dict)
    metrics: Mapping[str, float | None] = field(default_factory=dict)
    safety: Mapping[str, Any] = field(default_factory=dict)
    field: Field | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON object of ``cryoderm simulate --format json`` (no NaN, no numpy types)."""
        out: dict[str, Any] = {
            "format": RESULT_FORMAT,
            "status": self.status,
            "message": self.message,
            "time_s": _numbers(self.time_s),
            "probes": {name: _numbers(series) for name, series in self.probes.items()},
            "metrics": {name: _number(value) for name, value in self.metrics.items()},
            "safety": {name: _number(value) for name, value in self.safety.items()},
        }
        if self.field is not None:
            out["field"] = {
                "depth_mm": _numbers(self.field.depth_mm),
                "temp_c": [_numbers(row) for row in self.field.temp_c],
                "perfusion_ratio": [_numbers(row) for row in self.field.perfusion_ratio],
            }
        return out


_new = object.__new__


def ok_result(
    time_s: np.ndarray,
    probes: Mapping[str, np.ndarray],
    metrics: Mapping[str, float | None],
    safety: Mapping[str, Any],
    field: Field | None,
) -> SimulationResult:
    """A successful result, built for the batched path: the frozen dataclass's __init__
    sets each field through object.__setattr__, three times the cost of filling the
    instance dict at once (measured; a batch of protocols builds thousands)."""
    result = _new(SimulationResult)
    result.__dict__.update(
        status="ok",
        message="",
        time_s=time_s,
        probes=probes,
        metrics=metrics,
        safety=safety,
        field=field,
    )
    return result


def _number(value: Any) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    number = float(value)
    return number if math.isfinite(number) else None


def _numbers(values: np.ndarray) -> list[float]:
    return [float(v) for v in np.round(np.asarray(values, dtype=float), 6)]
