"""Plots of a simulation result: probe temperatures over time, phases shaded, thresholds drawn;
for an axisymmetric case with its field, the r-z temperature map at the coldest moment.

Two renderers of the same picture: :func:`write_png` (matplotlib, for reports) and
:func:`write_html` (plotly, interactive, self-contained). Both read the result's JSON form
(``SimulationResult.to_json_dict()``), so they depend only on the public output format.
The threshold lines are the named rows of ``data/thresholds.toml`` (with their sources there).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryoderm.data import load_table
from cryoderm.physics.case import Case

SUFFIXES = (".png", ".html")

# Drawn as horizontal lines: the skin temperatures the metrics count time below
# (data/freezing.toml [metrics]) and the frostnip criterion.
THRESHOLD_NAMES = (
    "cold-discomfort",
    "analgesia",
    "cold-pain",
    "physio-minimum-skin",
    "contact-frostnip",
)
PHASE_COLOURS = {
    "convective": "#9ecae1",
    "cold-air": "#c6dbef",
    "ln2-vapour": "#bcbddc",
    "contact": "#fdd0a2",
    "ambient": "#e5f5e0",
}


@dataclass(frozen=True)
class Band:
    """One phase as a shaded time band."""

    start_s: float
    end_s: float
    modality: str


@dataclass(frozen=True)
class Threshold:
    name: str
    temp_c: float


def phase_bands(case: Case) -> list[Band]:
    bands, start = [], 0.0
    for phase in case.phases:
        bands.append(Band(start, start + phase.duration_s, phase.modality))
        start += phase.duration_s
    return bands


def thresholds() -> list[Threshold]:
    rows = {row["name"]: row for row in load_table("thresholds").get("threshold", [])}
    return [Threshold(name, float(rows[name]["value"])) for name in THRESHOLD_NAMES if name in rows]


def _series(result: Mapping[str, Any]) -> tuple[Sequence[float], Mapping[str, Sequence[float]]]:
    return result.get("time_s") or [], result.get("probes") or {}


def _title(case: Case, result: Mapping[str, Any]) -> str:
    title = case.title or "cryoderm simulation"
    status = result.get("status", "")
    return title if status == "ok" else f"{title} [{status}: {result.get('message', '')}]"


@dataclass(frozen=True)
class Snapshot:
    """An axisymmetric result's field at one output time, mirrored about the axis for the
    picture: radius_mm from -R to R, depth_mm, temp_c[depth, radius]."""

    time_s: float
    radius_mm: list[float]
    depth_mm: list[float]
    temp_c: list[list[float]]


# How much of an axisymmetric field the map shows: the depth to which the coldest moment
# differs from the start by more than this (K), and the radius out to which the surface does.
SHOWN_CHANGE_K = 0.5


def coldest_snapshot(result: Mapping[str, Any]) -> Snapshot | None:
    """The field at the output time of the coldest surface, trimmed to where the exposure
    changed it (None without an axisymmetric field)."""
    field = result.get("field") or {}
    if "radius_mm" not in field:
        return None
    import numpy as np

    temps = np.asarray(field["temp_c"], dtype=float)  # [time, depth, radius]
    radius = np.asarray(field["radius_mm"], dtype=float)
    depth = np.asarray(field["depth_mm"], dtype=float)
    at = int(np.argmin(temps[:, 0, :].min(axis=1)))
    changed = np.abs(temps[at] - temps[0]) > SHOWN_CHANGE_K
    rows = np.nonzero(changed.any(axis=1))[0]
    cols = np.nonzero(changed.any(axis=0))[0]
    last_row = min(len(depth) - 1, (int(rows.max()) + 2) if rows.size else 1)
    last_col = min(len(radius) - 1, (int(cols.max()) + 2) if cols.size else 1)
    shown = temps[at, : last_row + 1, : last_col + 1]
    mirrored = np.concatenate([shown[:, :0:-1], shown], axis=1)
    r = radius[: last_col + 1]
    return Snapshot(
        time_s=float(result["time_s"][at]),
        radius_mm=[float(v) for v in np.concatenate([-r[:0:-1], r])],
        depth_mm=[float(v) for v in depth[: last_row + 1]],
        temp_c=mirrored.tolist(),
    )


def _draw_series(ax: Any, result: Mapping[str, Any], case: Case) -> None:
    time_s, probes = _series(result)
    seen: set[str] = set()
    for band in phase_bands(case):
        label = band.modality if band.modality not in seen else None
        seen.add(band.modality)
        ax.axvspan(
            band.start_s,
            band.end_s,
            color=PHASE_COLOURS.get(band.modality, "#eeeeee"),
            alpha=0.5,
            label=label,
            linewidth=0,
        )
    for threshold in thresholds():
        ax.axhline(threshold.temp_c, color="#888888", linestyle="--", linewidth=0.8)
        ax.annotate(
            f"{threshold.name} {threshold.temp_c:g} °C",
            (0, threshold.temp_c),
            xycoords=("axes fraction", "data"),
            fontsize=7,
            color="#555555",
            va="bottom",
        )
    for name, values in probes.items():
        ax.plot(time_s, [float("nan") if v is None else v for v in values], label=name)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("temperature (°C)")
    ax.legend(fontsize=8, loc="best")


def _draw_map(fig: Any, ax: Any, snapshot: Snapshot) -> None:
    """The r-z temperature map: depth downwards, the axis in the middle, the threshold
    temperatures as contours."""
    mesh = ax.pcolormesh(
        snapshot.radius_mm, snapshot.depth_mm, snapshot.temp_c, shading="gouraud", cmap="coolwarm"
    )
    levels = sorted({t.temp_c for t in thresholds()})
    low = min(min(row) for row in snapshot.temp_c)
    high = max(max(row) for row in snapshot.temp_c)
    inside = [level for level in levels if low < level < high]
    if inside:
        lines = ax.contour(
            snapshot.radius_mm,
            snapshot.depth_mm,
            snapshot.temp_c,
            levels=inside,
            colors="k",
            linewidths=0.6,
        )
        ax.clabel(lines, fmt="%g °C", fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("radius from the spot's axis (mm)")
    ax.set_ylabel("depth (mm)")
    ax.set_title(f"temperature at {snapshot.time_s:g} s (coldest surface)", fontsize=9)
    fig.colorbar(mesh, ax=ax, label="temperature (°C)")


def write_png(result: Mapping[str, Any], case: Case, path: Path) -> None:
    """A PNG of the probe series (matplotlib, no display needed); with an axisymmetric field,
    beside them the r-z temperature map at the coldest moment."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    snapshot = coldest_snapshot(result)
    if snapshot is None:
        fig, ax = plt.subplots(figsize=(9, 5), dpi=110)
    else:
        fig, (ax, right) = plt.subplots(1, 2, figsize=(15, 5), dpi=110)
        _draw_map(fig, right, snapshot)
    _draw_series(ax, result, case)
    ax.set_title(_title(case, result), fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_html(result: Mapping[str, Any], case: Case, path: Path) -> None:
    """A self-contained interactive HTML page of the probe series (plotly); with an
    axisymmetric field, below them the r-z temperature map at the coldest moment."""
    import plotly.graph_objects as go

    time_s, probes = _series(result)
    fig = go.Figure()
    for band in phase_bands(case):
        fig.add_vrect(
            x0=band.start_s,
            x1=band.end_s,
            line_width=0,
            opacity=0.4,
            fillcolor=PHASE_COLOURS.get(band.modality, "#eeeeee"),
            annotation_text=band.modality,
            annotation_position="top left",
        )
    for threshold in thresholds():
        fig.add_hline(
            y=threshold.temp_c,
            line_dash="dash",
            line_color="#888888",
            annotation_text=f"{threshold.name} {threshold.temp_c:g} °C",
            annotation_position="bottom right",
        )
    for name, values in probes.items():
        fig.add_trace(go.Scatter(x=list(time_s), y=list(values), mode="lines", name=name))
    fig.update_layout(
        title=_title(case, result),
        xaxis_title="time (s)",
        yaxis_title="temperature (°C)",
        template="plotly_white",
    )
    snapshot = coldest_snapshot(result)
    if snapshot is None:
        fig.write_html(path, include_plotlyjs=True, full_html=True)
        return
    html = fig.to_html(include_plotlyjs=True, full_html=False)
    field = go.Figure(
        go.Heatmap(
            x=snapshot.radius_mm,
            y=snapshot.depth_mm,
            z=snapshot.temp_c,
            colorscale="RdBu_r",
            colorbar={"title": "°C"},
        )
    )
    field.update_layout(
        title=f"temperature at {snapshot.time_s:g} s (coldest surface)",
        xaxis_title="radius from the spot's axis (mm)",
        yaxis_title="depth (mm)",
        yaxis_autorange="reversed",
        template="plotly_white",
    )
    html += field.to_html(include_plotlyjs=False, full_html=False)
    path.write_text(f"<!DOCTYPE html><html><body>{html}</body></html>", encoding="utf-8")


def write_plot(result: Mapping[str, Any], case: Case, path: Path) -> None:
    """Write the plot in the format the file name asks for (.png or .html)."""
    suffix = path.suffix.lower()
    if suffix == ".png":
        write_png(result, case, path)
    elif suffix == ".html":
        write_html(result, case, path)
    else:
        raise ValueError(f"plot file must end in one of {', '.join(SUFFIXES)}: {path}")
