"""Plots of a simulation result: probe temperatures over time, phases shaded, thresholds drawn.

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


def write_png(result: Mapping[str, Any], case: Case, path: Path) -> None:
    """A PNG of the probe series (matplotlib, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    time_s, probes = _series(result)
    fig, ax = plt.subplots(figsize=(9, 5), dpi=110)
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
    ax.set_title(_title(case, result), fontsize=10)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_html(result: Mapping[str, Any], case: Case, path: Path) -> None:
    """A self-contained interactive HTML page of the probe series (plotly)."""
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
    fig.write_html(path, include_plotlyjs=True, full_html=True)


def write_plot(result: Mapping[str, Any], case: Case, path: Path) -> None:
    """Write the plot in the format the file name asks for (.png or .html)."""
    suffix = path.suffix.lower()
    if suffix == ".png":
        write_png(result, case, path)
    elif suffix == ".html":
        write_html(result, case, path)
    else:
        raise ValueError(f"plot file must end in one of {', '.join(SUFFIXES)}: {path}")
