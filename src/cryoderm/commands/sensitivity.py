"""``cryoderm sensitivity``: which inputs matter for a case's safety figures.

cryoderm sensitivity CASE.toml [--method morris|sobol|both] [--parameters PARAMS.toml]
                     [--no-spreads] [--outputs min_surface_temp_c,...] [--n 256]
                     [--trajectories 20] [--seed 0] [--plot FILE.png] [--out FILE.csv]
                     [--scheduler tcp://host:8786 | --workers N] [--format table|json]

Varies the case's inputs over their sourced spreads (data/spreads.toml: thicknesses,
dermal perfusion, deep boundary, local-cold law, contact and device assumptions that act on
the case), plus any [[parameter]] of PARAMS.toml (key, distribution, low, high, mean, sd,
mode, source; or key = "spread:<name>"), and reports Morris mu* (screening) and Sobol S1/ST
indices for each output. See docs/research.md.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from cryoderm.commands import _research


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sensitivity",
        help="Morris and Sobol sensitivity of a case's outputs over sourced spreads",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("case", help="a cryoderm case file (TOML)")
    parser.add_argument("--method", choices=("morris", "sobol", "both"), default="both")
    parser.add_argument("--parameters", metavar="FILE", help="[[parameter]] tables (TOML)")
    parser.add_argument(
        "--no-spreads", action="store_true", help="only the parameters of --parameters"
    )
    parser.add_argument("--outputs", help="comma-separated output names (default: four)")
    parser.add_argument("--n", type=int, default=256, help="Sobol base sample (power of 2)")
    parser.add_argument("--trajectories", type=int, default=20, help="Morris trajectories")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", metavar="FILE", help="bar charts: FILE.png, .svg or .pdf")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    _research.add_out(parser)
    _research.add_cluster(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import cryoderm
    from cryoderm.research.errors import InvalidStudy
    from cryoderm.research.outputs import case_provenance, write
    from cryoderm.research.parameters import parameters_from_tables
    from cryoderm.research.sensitivity import design_runs, plot, study, to_frame
    from cryoderm.research.spreads import case_spreads

    out = _research.out_path(args)
    plot_path = _plot_path(args.plot)
    case = cryoderm.load_case(args.case)
    parameters = [] if args.no_spreads else case_spreads(case)
    if args.parameters:
        document = _research.load_toml(args.parameters, "--parameters")
        parameters += parameters_from_tables(document.get("parameter"), "parameter", case)
    if not parameters:
        raise InvalidStudy("--parameters", args.parameters, "at least one parameter to vary")
    methods = ("morris", "sobol") if args.method == "both" else (args.method,)
    outputs = [o.strip() for o in args.outputs.split(",")] if args.outputs else None
    runs = design_runs(methods, len(parameters), args.n, args.trajectories)
    with _research.running(args, runs) as (client, progress):
        results = study(
            case,
            parameters,
            methods=methods,
            outputs=outputs,
            n=args.n,
            trajectories=args.trajectories,
            seed=args.seed,
            client=client,
            progress=progress,
        )
    frame = to_frame(results, case_provenance(case))
    if out is not None:
        write(frame, out)
    if plot_path is not None:
        plot(results, plot_path)
    if args.format == "json":
        print(json.dumps({**frame.attrs, "results": [r.to_json_dict() for r in results]}))
        return 0
    for result in results:
        title = f"{result.method}: {result.runs:,} runs in {result.seconds:.1f} s"
        _research.print_frame(result.to_dataframe().set_index(["quantity", "parameter"]), title, 3)
    return 0


def _plot_path(text: str | None) -> Any:
    if text is None:
        return None
    from pathlib import Path

    from cryoderm.research.errors import InvalidStudy

    path = Path(text)
    if path.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise InvalidStudy("--plot", text, "a file name ending in .png, .svg or .pdf")
    if not path.parent.is_dir():
        raise InvalidStudy("--plot", text, "a file in an existing folder")
    return path
