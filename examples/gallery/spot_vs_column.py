"""When is the 1-D column enough? A jet spot of several diameters against the column.

    python examples/gallery/spot_vs_column.py [OUT_FOLDER]

Runs cheek-spot.toml with its top-hat 0.5, 1, 2 and 4 cm across and as the column (the same
exposure over the whole surface), prints how much warmer each spot's centre stays and how
much faster it rewarms in the 2 minutes after the jet, and writes spot_vs_column.csv and
spot_vs_column.png (the centre's temperature over time, each spot and the column; the r-z
map of the 1 cm spot at its coldest). docs/physics.md section 10 reads the same table.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import cryoderm
from cryoderm.research.outputs import write
from cryoderm.research.spot_column import spot_versus_column

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _size import small  # noqa: E402

DIAMETERS_MM = (5.0, 10.0, 20.0, 40.0)


def main(out: Path) -> None:
    case = cryoderm.load_case(HERE / "cheek-spot.toml")
    diameters = DIAMETERS_MM
    if small():
        # Shorter, coarser and two diameters: the example runs, the figures are rough.
        jet, rest = case.phases
        case = dataclasses.replace(
            case,
            phases=(
                dataclasses.replace(jet, duration_s=30.0),
                dataclasses.replace(rest, duration_s=30.0),
            ),
            numerics=dataclasses.replace(case.numerics, space_refinement=0.5),
        )
        diameters = (10.0, 40.0)
    table = spot_versus_column(case, diameters, rewarm_window_s=case.phases[-1].duration_s)
    print(table.round(2).to_string(index=False))
    write(table, out / "spot_vs_column.csv")
    _plot(case, diameters, out / "spot_vs_column.png")


def _plot(case, diameters, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cryoderm.viz import coldest_snapshot

    def spot(radius_mm: float, field: bool = False):
        phases = (dataclasses.replace(case.phases[0], spot_radius_mm=radius_mm), *case.phases[1:])
        output = dataclasses.replace(case.output, full_field=field)
        return dataclasses.replace(case, phases=phases, output=output)

    column = cryoderm.simulate(spot(case.geometry.radius_mm))
    runs = {d: cryoderm.simulate(spot(0.5 * d)) for d in diameters}
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 5), dpi=100)
    left.plot(column.time_s, column.probes["centre"], "k--", label="1-D column")
    for diameter, result in runs.items():
        left.plot(result.time_s, result.probes["centre"], label=f"spot {diameter / 10:g} cm")
    left.set_xlabel("time (s)")
    left.set_ylabel("skin surface on the spot's axis (°C)")
    left.legend()
    left.set_title("the spot's centre against the 1-D column", fontsize=10)
    snapshot = coldest_snapshot(cryoderm.simulate(spot(5.0, field=True)).to_json_dict())
    assert snapshot is not None
    mesh = right.pcolormesh(
        snapshot.radius_mm, snapshot.depth_mm, snapshot.temp_c, shading="gouraud", cmap="coolwarm"
    )
    right.invert_yaxis()
    right.set_xlabel("radius (mm)")
    right.set_ylabel("depth (mm)")
    right.set_title(f"1 cm spot at {snapshot.time_s:g} s", fontsize=10)
    fig.colorbar(mesh, ax=right, label="°C")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())
