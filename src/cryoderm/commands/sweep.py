"""``cryoderm sweep``: a grid or a random design over any case key, one row per run.

cryoderm sweep SWEEP.toml [--out FILE.csv|.parquet|.nc] [--format table|json]
                          [--scheduler tcp://host:8786 | --workers N]

SWEEP.toml names the case file, the design ("grid", "random" or "sobol" with `runs`), the
outputs and one [[axis]] per swept key (values = [...], or low/high with steps for a grid);
see docs/research.md. Runs the engine refuses or that fail are rows with their status.
Exit 0 when every run succeeded, 1 when some did not (they are in the table).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from cryoderm.commands import _research


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sweep",
        help="grids and random designs over any case key (one row per run)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("spec", help="a sweep file (TOML, format cryoderm-sweep/1)")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    _research.add_out(parser)
    _research.add_cluster(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import cryoderm
    from cryoderm.research.errors import InvalidStudy
    from cryoderm.research.outputs import write
    from cryoderm.research.sweep import parse_sweep, run_sweep

    out = _research.out_path(args)
    document = _research.load_toml(args.spec, "sweep file")
    case_name = document.get("case")
    if not isinstance(case_name, str):
        raise InvalidStudy("case", case_name or "(missing)", "the case file, relative to the sweep")
    case = cryoderm.load_case(Path(args.spec).parent / case_name)
    sweep = parse_sweep(document, case)
    runs = len(sweep.points())
    with _research.running(args, runs) as (client, progress):
        result = run_sweep(sweep, client=client, progress=progress)
    frame = result.to_dataframe()
    if out is not None:
        write(frame, out)
    if args.format == "json":
        print(
            json.dumps(
                {
                    "attrs": frame.attrs,
                    "rows": json.loads(frame.reset_index().to_json(orient="records")),
                }
            )
        )
    else:
        counts = ", ".join(f"{k} {v}" for k, v in result.runs.counts().items())
        _research.print_frame(frame, f"{runs:,} runs in {result.seconds:.1f} s ({counts})")
        for status, message in result.runs.messages.items():
            print(f"{status}: {message}")
    return 0 if bool(result.runs.ok.all()) else 1
