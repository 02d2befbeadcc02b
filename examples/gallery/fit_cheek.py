"""Fit the jet's h (and the fat thickness) to measured thermocouple traces.

    python examples/gallery/fit_cheek.py [OUT_FOLDER]

measured-cheek.csv holds surface and 1 mm traces (synthetic: the case with h = 80 W/m2K plus
0.3 C noise). Least squares gives each estimate with its 95 % interval; a short emcee run
gives the posterior. Writes fit.csv and fit.png (measured against the fitted model). The same
from the shell: `cryoderm fit cheek-convective.toml --measured measured-cheek.csv --fit h,fat`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cryoderm
from cryoderm.research.keys import apply, parse_key
from cryoderm.research.outputs import write
from cryoderm.research.traces import read_trace_csv

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _size import size  # noqa: E402


def main(out: Path) -> None:
    case = cryoderm.load_case(HERE / "cheek-convective.toml")
    traces = read_trace_csv(HERE / "measured-cheek.csv")
    result = cryoderm.fit(
        case, traces, ["h", "fat"], posterior=True, walkers=8, steps=size(200, 12)
    )
    for e in result.estimates:
        print(
            f"{e.name}: {e.value:.3g} (95 % {e.low_95:.3g} to {e.high_95:.3g}; "
            f"posterior {e.posterior_median:.3g})"
        )
    write(result, out / "fit.csv")

    changes = [(parse_key(e.key), "set", e.value) for e in result.estimates]
    fitted = cryoderm.simulate(apply(case, changes))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for trace in traces:
        ax.plot(trace.time_s, trace.temp_c, ".", label=f"measured {trace.probe}")
        ax.plot(fitted.time_s, fitted.probes[trace.probe], "-", label=f"fitted {trace.probe}")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("temperature (°C)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "fit.png")
    plt.close(fig)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())
