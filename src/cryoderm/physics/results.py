"""The result of one simulation, as a frozen value object mirroring the JSON output.

The JSON form (``to_json_dict``) is the result object of docs/case-file.md, format
``cryoderm-result/1``. No NaN ever reaches a caller: a run that failed is
``status == "failed"`` with a message and empty series; metrics that do not apply are None.
"""

from __future__ import annotations

import math
from collections.abc import Callable, ItemsView, Iterator, KeysView, Mapping, ValuesView
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from cryoderm.physics.case import Case
    from cryoderm.physics.provenance import Provenance

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
    times; perfusion_ratio[t, x]: local perfusion over its basal value (1 without a law).
    An axisymmetric case adds radius_mm (node radii from the axis) and its fields are
    temp_c[t, x, r] and perfusion_ratio[t, x, r]."""

    depth_mm: np.ndarray
    temp_c: np.ndarray
    perfusion_ratio: np.ndarray
    radius_mm: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """What one simulation predicts (docs/physics.md, section 7 defines every metric).

    status: "ok", "failed" (the solver did not converge or produced a non-finite value:
    nothing else is then reported) or "invalid" (the case cannot be simulated; message
    names the field). time_s: output times (s from the start of phase 1). probes: probe
    name -> temperature series (C) at time_s. metrics and safety: flat name -> number
    (None where it does not apply), units in the names. case: the input (set by the
    engine); provenance: the cryoderm version, the resolved case and its SHA-256.
    """

    status: Literal["ok", "failed", "invalid"]
    message: str = ""
    time_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    probes: Mapping[str, np.ndarray] = field(default_factory=dict)
    metrics: Mapping[str, float | None] = field(default_factory=dict)
    safety: Mapping[str, Any] = field(default_factory=dict)
    field: Field | None = None
    case: Case | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @cached_property
    def provenance(self) -> Provenance | None:
        """What the result was computed from (None for a result without its case); built
        when first read, so that a batch of results pays nothing for it."""
        if self.case is None:
            return None
        from cryoderm.physics.provenance import provenance

        return provenance(self.case)

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
            out["field"] = _field_json(self.field)
        if self.provenance is not None:
            out["provenance"] = self.provenance.to_json_dict()
        return out

    # Tidy outputs for pandas, xarray and notebooks. pandas and xarray are imported when
    # called, so that `cryoderm simulate` starts without them.
    def _tidy_attrs(self) -> dict[str, Any]:
        document = self.to_json_dict()
        attrs = {key: document[key] for key in ("format", "status", "message", "metrics", "safety")}
        if self.provenance is not None:
            attrs.update(self.provenance.to_attrs())
        return attrs

    def to_dataframe(self) -> Any:
        """A pandas DataFrame: one row per output time (index ``time_s``), one column per
        probe (C); status, message, metrics and safety in ``.attrs`` (JSON-ready)."""
        import pandas as pd

        frame = pd.DataFrame(
            {name: np.asarray(series, dtype=float) for name, series in self.probes.items()},
            index=pd.Index(np.asarray(self.time_s, dtype=float), name="time_s"),
        )
        frame.attrs.update(self._tidy_attrs())
        return frame

    def to_xarray(self) -> Any:
        """An xarray Dataset: ``temp_c(probe, time_s)`` and, with the full field,
        ``field_temp_c(time_s, depth_mm)`` and ``perfusion_ratio(time_s, depth_mm)``;
        status, message, metrics and safety in ``.attrs``."""
        import xarray as xr

        names = list(self.probes)
        temps = np.array([np.asarray(self.probes[n], dtype=float) for n in names]).reshape(
            len(names), len(self.time_s)
        )
        data: dict[str, Any] = {
            "temp_c": (("probe", "time_s"), temps, {"units": "degC", "long_name": "temperature"})
        }
        coords: dict[str, Any] = {
            "probe": names,
            "time_s": ("time_s", np.asarray(self.time_s, dtype=float), {"units": "s"}),
        }
        field = self.field
        if field is not None:
            dims: tuple[str, ...] = ("time_s", "depth_mm")
            coords["depth_mm"] = ("depth_mm", field.depth_mm, {"units": "mm"})
            if field.radius_mm is not None:
                dims = (*dims, "radius_mm")
                coords["radius_mm"] = ("radius_mm", field.radius_mm, {"units": "mm"})
            data["field_temp_c"] = (dims, field.temp_c, {"units": "degC"})
            data["perfusion_ratio"] = (dims, field.perfusion_ratio)
        return xr.Dataset(data, coords=coords, attrs=self._tidy_attrs())

    def _headline(self) -> list[tuple[str, str]]:
        """(label, value) pairs of the compact summary: the series and the safety figures."""
        rows = [("status", self.status + (f": {self.message}" if self.message else ""))]
        if self.ok and len(self.time_s):
            rows.append(
                ("samples", f"{len(self.time_s)} from {self.time_s[0]:g} to {self.time_s[-1]:g} s")
            )
            for name, series in self.probes.items():
                rows.append((name, f"{np.min(series):+.2f} to {np.max(series):+.2f} °C"))
            for key in ("min_surface_temp_c", "surface_time_below_10c_s"):
                if self.metrics.get(key) is not None:
                    rows.append((key, f"{self.metrics[key]:.4g}"))
            risk = self.safety.get("freeze_risk_time_s")
            rows.append(("freeze_risk_time_s", "none" if risk is None else f"{risk:.4g}"))
        return rows

    def __repr__(self) -> str:
        return "SimulationResult(" + ", ".join(f"{k}={v}" for k, v in self._headline()) + ")"

    def _repr_html_(self) -> str:
        from html import escape

        cells = "".join(
            f"<tr><th style='text-align:left'>{escape(k)}</th><td>{escape(v)}</td></tr>"
            for k, v in self._headline()
        )
        return f"<table><caption>SimulationResult</caption>{cells}</table>"


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
        case=None,
    )
    return result


def with_case(result: SimulationResult, case: Case) -> SimulationResult:
    """``result`` as the result of ``case``: the engine records each result's input here
    (every result is its own object, built for its case)."""
    result.__dict__["case"] = case
    return result


def _number(value: Any) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    number = float(value)
    return number if math.isfinite(number) else None


def _field_json(field: Field) -> dict[str, Any]:
    out: dict[str, Any] = {"depth_mm": _numbers(field.depth_mm)}
    if field.radius_mm is not None:
        out["radius_mm"] = _numbers(field.radius_mm)
    out["temp_c"] = _nested(field.temp_c)
    out["perfusion_ratio"] = _nested(field.perfusion_ratio)
    return out


def _nested(values: np.ndarray) -> list[Any]:
    """Rows of numbers, nested as deep as the array (time, depth[, radius])."""
    if values.ndim == 1:
        return _numbers(values)
    return [_nested(row) for row in values]


def _numbers(values: np.ndarray) -> list[float]:
    return [float(v) for v in np.round(np.asarray(values, dtype=float), 6)]
