"""A grid over the jet's temperature and h, from Python, into pandas.

    python examples/gallery/sweep_cheek.py [OUT_FOLDER]

The same design as sweep-gas-and-h.toml (`cryoderm sweep sweep-gas-and-h.toml --out
sweep.csv`), loaded and run from Python; prints where the coldest skin crosses 4 °C and
writes sweep.parquet.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import cryoderm
from cryoderm.research.outputs import write
from cryoderm.research.sweep import parse_sweep, run_sweep

HERE = Path(__file__).resolve().parent


def main(out: Path) -> None:
    document = tomllib.loads((HERE / "sweep-gas-and-h.toml").read_text(encoding="utf-8"))
    sweep = parse_sweep(document, cryoderm.load_case(HERE / document["case"]))
    frame = run_sweep(sweep).to_dataframe()
    table = frame.pivot_table(
        index="phase[1].gas_temp_c", columns="jet h (W/m2K)", values="min_surface_temp_c"
    )
    print(table.round(1))
    print("runs below a 4 °C skin minimum:", int((frame["min_surface_temp_c"] < 4.0).sum()))
    write(frame, out / "sweep.parquet")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())
