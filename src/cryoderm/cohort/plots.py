"""Distribution plots of a cohort: how the predictions spread over the subjects.

:func:`write_distributions` draws, from a :class:`~cryoderm.cohort.risk.CohortRisk`'s
per-subject columns, a histogram of the coldest skin surface (the modality's floor drawn,
the target band shaded) and one of the time the surface spends below each threshold, with
the protocol and the population in the title. matplotlib is imported here, when a plot is
written (a PNG, or SVG/PDF by the file's suffix).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cryoderm.cohort.errors import InvalidCohort
from cryoderm.data.labels import celsius, celsius_range

if TYPE_CHECKING:
    from cryoderm.cohort.risk import CohortRisk

SUFFIXES = (".png", ".svg", ".pdf")
# assumption: 40 bins resolve a cohort of a few hundred subjects or more without gaps.
BINS = 40


def check_plot_path(text: str, option: str = "--plot") -> Path:
    """The path of a plot file, checked before any work is done."""
    path = Path(text)
    if path.suffix.lower() not in SUFFIXES:
        raise InvalidCohort(option, text, "a file name ending in " + ", ".join(SUFFIXES))
    if not path.parent.is_dir():
        raise InvalidCohort(option, text, "a file in an existing folder")
    return path


def write_distributions(risk: CohortRisk, path: Path | str) -> None:
    """Histograms of the coldest surface and of the time below each threshold over the
    subjects whose run is ok, into ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = risk.subjects
    ok = np.asarray(columns["status"]) == "ok"
    coldest = np.asarray(columns["min_surface_temp_c"])[ok]
    below = {
        key: np.asarray(values)[ok]
        for key, values in columns.items()
        if key.startswith("surface_time_below_")
    }
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.hist(coldest, bins=BINS, color="#6baed6")
    left.axvline(
        risk.floor_c,
        color="#cb181d",
        linestyle="--",
        label=f"floor {celsius(risk.floor_c, signed=True)}",
    )
    if risk.band_c is not None:
        low, high = risk.band_c
        left.axvspan(
            low, high, color="#74c476", alpha=0.25, label=f"band {celsius_range(low, high)}"
        )
    left.set_xlabel("coldest skin surface (°C)")
    left.set_ylabel("subjects")
    left.legend(loc="upper right", fontsize=8)
    for key, values in below.items():
        label = key.removeprefix("surface_time_below_").removesuffix("c_s")
        right.hist(
            values,
            bins=BINS,
            histtype="step",
            linewidth=1.5,
            label=f"below {celsius(float(label), 0, signed=True)}",
        )
    right.set_xlabel("time the surface spends below (s)")
    right.set_ylabel("subjects")
    right.legend(loc="upper right", fontsize=8)
    first, last = risk.age_range_years
    fig.suptitle(
        f"{risk.protocol}\n{risk.zone}: {int(ok.sum()):,} of {risk.n:,} subjects ({risk.sex}, "
        f"{first}-{last} y, seed {risk.seed}); model predictions over assumed spreads",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
