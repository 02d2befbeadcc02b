"""``cryoderm fit``: estimate inputs of a case from measured temperature traces.

cryoderm fit CASE.toml --measured FILE [--measured FILE ...] --fit h,fat,...
             [--sd-c 0.3] [--zone ZONE --sensor SENSOR --offset-s 0]
             [--posterior [--walkers 16 --steps 300 --seed 0]]
             [--out FILE.csv|.parquet|.nc] [--format table|json]

--measured: a CSV of traces (time_s and one column per probe of the case) or a clinic
session's readings (the JSON of GET /api/sessions/{id}/readings, or its CSV with zone,
sensor, elapsed_s, skin_temp_c), recognised by their columns. --fit: h (convective h),
contact (contact conductance), perfusion (a factor on every layer's perfusion), deep (the
deepest layer's thickness), a layer's name (its thickness) or any case key path.
Reports each estimate with its 95 % interval (least squares) and, with --posterior, the
posterior's median and 95 % interval (emcee). See docs/research.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from cryoderm.commands import _research


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "fit",
        help="estimate case inputs (h, contact, perfusion, thickness) from measured traces",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("case", help="a cryoderm case file (TOML)")
    parser.add_argument("--measured", action="append", required=True, metavar="FILE")
    parser.add_argument("--fit", required=True, help="comma-separated inputs to estimate")
    parser.add_argument("--sd-c", type=float, help="measurement SD in C (default: estimated)")
    parser.add_argument("--zone", help="clinic readings: the zone's series")
    parser.add_argument("--sensor", help="clinic readings: the sensor's series")
    parser.add_argument(
        "--offset-s", type=float, default=0.0, help="clinic readings: session time of phase 1"
    )
    parser.add_argument(
        "--posterior", action="store_true", help="also sample the posterior (emcee)"
    )
    parser.add_argument("--walkers", type=int, default=16)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--format", choices=("table", "json"), default="table")
    _research.add_out(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import cryoderm
    from cryoderm.research.errors import InvalidStudy
    from cryoderm.research.fitting import fit
    from cryoderm.research.outputs import write
    from cryoderm.research.traces import read_measured

    out = _research.out_path(args)
    if args.sd_c is not None and not args.sd_c > 0:
        raise InvalidStudy("--sd-c", args.sd_c, "a standard deviation > 0", "C")
    case = cryoderm.load_case(args.case)
    traces = []
    for name in args.measured:
        traces += read_measured(
            Path(name),
            zone=args.zone,
            sensor=args.sensor,
            time_offset_s=args.offset_s,
            sd_c=args.sd_c,
        )
    names = [n.strip() for n in args.fit.split(",") if n.strip()]
    with _research.progress_bar("posterior steps") as progress:
        result = fit(
            case,
            traces,
            names,
            posterior=args.posterior,
            walkers=args.walkers,
            steps=args.steps,
            seed=args.seed,
            progress=progress,
        )
    frame = result.to_dataframe()
    if out is not None:
        write(frame, out)
    if args.format == "json":
        print(json.dumps(result.to_json_dict()))
        return 0
    title = (
        f"{len(traces)} trace(s), {result.samples} samples: rms {result.rms_c:.3g} °C, "
        f"{result.evaluations} runs"
    )
    columns = ["value", "low_95", "high_95"]
    if args.posterior:
        columns += ["posterior_median", "posterior_low_95", "posterior_high_95"]
    _research.print_frame(frame[["key", *columns]], title)
    return 0
