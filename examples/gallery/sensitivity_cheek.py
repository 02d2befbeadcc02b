"""Which inputs matter for the cheek under a cold jet? Morris screening, then Sobol indices.

    python examples/gallery/sensitivity_cheek.py [OUT_FOLDER]

Varies the case's sourced spreads (data/spreads.toml: dermis and fat thickness, dermal
perfusion, the deep boundary) and the jet's h (a device assumption, 40-80 W/m2K), and
ranks them for the coldest surface and the coldest basal layer. Writes the indices as
sensitivity.csv and their bar charts as sensitivity.png. The same from the shell:
`cryoderm sensitivity cheek-convective.toml --parameters jet-h.toml --plot s.png`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cryoderm
from cryoderm.research.outputs import write
from cryoderm.research.parameters import Uniform
from cryoderm.research.sensitivity import plot, to_frame
from cryoderm.research.spreads import case_spreads

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _size import size  # noqa: E402


def main(out: Path) -> None:
    case = cryoderm.load_case(HERE / "cheek-convective.toml")
    parameters = [
        *case_spreads(case),
        cryoderm.Parameter(
            "phase[1].heat_transfer_w_m2k",
            Uniform(40.0, 80.0),
            "assumption: the jet's h is not published; 40-80 W/m2K spans forced air at 3-9 m/s",
            label="jet_h",
        ),
    ]
    outputs = ["min_surface_temp_c", "basal_min_temp_c"]
    results = cryoderm.sensitivity(
        case,
        parameters,
        outputs=outputs,
        n=size(256, 16),
        trajectories=size(20, 4),
    )
    for result in results:
        print(f"{result.method} ({result.runs} runs):", " > ".join(result.ranking(outputs[0])))
    from cryoderm.research.outputs import case_provenance

    write(to_frame(results, case_provenance(case)), out / "sensitivity.csv")
    plot(results, out / "sensitivity.png")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())
