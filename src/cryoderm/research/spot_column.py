"""When is the 1-D column enough? A spot of each diameter against the column, side by side.

The column's prediction for a spot is the spot's on-axis exposure over the whole surface: the
same axisymmetric case with every spot a top-hat wider than the cylinder (the wide-spot
limit, which is the column engine's result to rounding: docs/physics.md section 10). Against
it, the same case with every spot a top-hat of the given diameter. For each diameter the table
gives the coldest surface temperature of both (the spot's on its axis) and how much the
surface on the axis rewarms in ``rewarm_window_s`` after the last spot phase ends, in both::

    from cryoderm.research.spot_column import spot_versus_column
    table = spot_versus_column(case, diameters_mm=[5, 10, 20, 40])
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from cryoderm.physics.case import Case, Probe
from cryoderm.research.errors import InvalidStudy

AXIS = "axis"  # the probe this study reads: the surface on the spot's axis
COLUMNS = (
    "diameter_mm",
    "column_min_surface_c",
    "spot_min_surface_c",
    "spot_warmer_k",
    "column_rewarm_k",
    "spot_rewarm_k",
    "spot_rewarms_faster_k",
)


def _with_spots(case: Case, radius_mm: float) -> Case:
    phases = tuple(
        dataclasses.replace(phase, spot_profile="top-hat", spot_radius_mm=radius_mm)
        if phase.spot_profile is not None
        else phase
        for phase in case.phases
    )
    output = dataclasses.replace(
        case.output, probes=(Probe(AXIS, 0.0, 0.0),), sample_every_s=1.0, full_field=False
    )
    return dataclasses.replace(case, phases=phases, output=output)


def _rewarm_window(case: Case, window_s: float) -> tuple[float, float] | None:
    """(start, end) of the rewarming window: from the end of the last spot phase."""
    end = 0.0
    last = None
    for phase in case.phases:
        end += phase.duration_s
        if phase.spot_profile is not None:
            last = end
    if last is None:
        raise InvalidStudy("phase", "no spot_profile", "a case with at least one spot phase")
    if case.duration_s < last + window_s - 1e-9:
        return None
    return last, last + window_s


def _figures(result: Any, window: tuple[float, float] | None) -> tuple[float, float | None]:
    if not result.ok:
        raise InvalidStudy("case", result.status, result.message)
    coldest = float(result.metrics["min_surface_temp_c"])
    if window is None:
        return coldest, None
    series = np.asarray(result.probes[AXIS])
    times = np.asarray(result.time_s)
    start, end = (float(np.interp(t, times, series)) for t in window)
    return coldest, end - start


def spot_versus_column(
    case: Case, diameters_mm: Sequence[float], rewarm_window_s: float = 120.0
) -> Any:
    """The table of the module docstring (a pandas DataFrame, one row per diameter; the
    rewarming columns are NaN when the case ends sooner than the window), with the
    provenance of ``case`` in ``.attrs``."""
    import pandas as pd

    from cryoderm.physics.engine import simulate_many
    from cryoderm.research.outputs import case_provenance

    if not case.geometry.axisymmetric:
        raise InvalidStudy("geometry.kind", case.geometry.kind, '"axisymmetric"')
    window = _rewarm_window(case, rewarm_window_s)
    column = _with_spots(case, case.geometry.radius_mm)
    spots = [_with_spots(case, 0.5 * float(d)) for d in diameters_mm]
    results = simulate_many([column, *spots])
    column_min, column_rewarm = _figures(results[0], window)
    rows = []
    for diameter, result in zip(diameters_mm, results[1:], strict=True):
        spot_min, spot_rewarm = _figures(result, window)
        faster = None
        if spot_rewarm is not None and column_rewarm is not None:
            faster = spot_rewarm - column_rewarm
        rows.append(
            (
                float(diameter),
                column_min,
                spot_min,
                spot_min - column_min,
                column_rewarm,
                spot_rewarm,
                faster,
            )
        )
    frame = pd.DataFrame(rows, columns=list(COLUMNS)).astype(float)
    frame.attrs.update(case_provenance(case))
    frame.attrs["rewarm_window_s"] = rewarm_window_s
    return frame
