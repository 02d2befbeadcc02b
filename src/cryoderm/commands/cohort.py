"""``cryoderm cohort``: one protocol's predicted risk over a virtual population, on Dask.

cryoderm cohort CASE.toml [--n 10000] [--sex female|male|mixed] [--age 25-70] [--seed 1]
                [--scheduler tcp://host:8786 | --workers N] [--block-size 2000]
                [--floor-c T] [--band-c LOW-HIGH] [--format table|json]
                [--out SUBJECTS.parquet|.csv|.nc] [--summary-out FILE] [--plot FILE.png]
cryoderm cohort --zone cheek --goal GOAL --modality cold-air [same options]

The protocol is a case file (on a built-in zone, or of explicit layers with --zone), or the
planner's protocol for --zone/--goal/--modality. Each subject gets the zone's tissue varied
within the sourced spreads of data/cohort.toml. Runs in this process below DASK_FROM
subjects, else on a local Dask cluster (one worker per CPU, or --workers N; --workers 0:
here), or on a running one named by --scheduler. Reports the protocol, the fraction of
subjects with a predicted freezing risk, below the modality's floor and reaching the target
band, percentiles of the coldest skin and of the time below 10/4/0 C, and runs per status;
--out writes one row per subject, --summary-out the summary table, --plot the
distributions. See docs/cohort.md.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from cryoderm.commands import _research
from cryoderm.errors import UserInputError

#: Cohorts of at least this many subjects go to a local Dask cluster unless told otherwise:
#: in lanes a process runs ~10,000 subjects/s, so below this the cluster's start (several
#: seconds per worker, docs/cohort.md) would cost more than it saves (measured, assumption
#: for other machines).
DASK_FROM = 200_000


class BadOption(UserInputError):
    """A command-line option that cannot be honoured (exit 2)."""


def _range(text: str, option: str, unit: str) -> tuple[float, float]:
    low, sep, high = text.partition("-")
    try:
        if not sep:
            raise ValueError
        return float(low), float(high)
    except ValueError:
        raise BadOption(f"{option} = {text!r}: LOW-HIGH in {unit}, e.g. 25-70") from None


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "cohort",
        help="protocol risk over a virtual population (Dask)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("case", nargs="?", help="a cryoderm case file (TOML)")
    parser.add_argument("--n", "--size", dest="n", type=int, default=1000, help="subjects")
    parser.add_argument("--sex", choices=("female", "male", "mixed"), default="mixed")
    parser.add_argument("--age", help="age range in whole years, e.g. 25-70 (default 18-90)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--zone", help="the population's zone (with --goal: the planned zone)")
    parser.add_argument("--goal", help="plan the protocol for this catalogue goal")
    parser.add_argument("--modality", help="with --goal: cold-air, ln2-vapour or contact")
    parser.add_argument("--floor-c", type=float, help="skin floor in C (default: the modality's)")
    parser.add_argument("--band-c", help="target band LOW-HIGH in C (default: the modality's)")
    parser.add_argument("--scheduler", help="address of a running Dask scheduler")
    parser.add_argument(
        "--workers",
        type=int,
        help=f"local Dask workers (0: run here; default: here below {DASK_FROM:,} subjects, "
        "else one per CPU)",
    )
    parser.add_argument("--block-size", type=int, default=2000, help="subjects per Dask task")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument(
        "--out", metavar="FILE", help="one row per subject: FILE.parquet, FILE.csv or FILE.nc"
    )
    parser.add_argument(
        "--summary-out", metavar="FILE", help="the summary table: FILE.csv, .parquet or .nc"
    )
    parser.add_argument(
        "--plot", metavar="FILE", help="distributions over the subjects: FILE.png, .svg or .pdf"
    )
    parser.set_defaults(handler=run)


def _protocol(
    args: argparse.Namespace,
) -> tuple[Any, str, tuple[float, float] | None, str | None]:
    """The case, the population's zone, the plan's band and the planned protocol in words
    (both None for a case file)."""
    if args.case is not None:
        if args.goal or args.modality:
            raise BadOption("give a case file or --goal/--modality, not both")
        import cryoderm

        case = cryoderm.load_case(args.case)
        zone = args.zone or case.tissue.zone
        if zone is None:
            raise BadOption("--zone: required for a case of explicit layers")
        return case, zone, None, None
    if not (args.zone and args.goal and args.modality):
        raise BadOption("give a case file, or all of --zone, --goal and --modality")
    from cryoderm.clinical.planner import PlanRequest, plan

    step = plan(PlanRequest(goals=(args.goal,), zones=(args.zone,), modality=args.modality)).steps[
        0
    ]
    words = step.prediction.delivery.describe()
    status = "planned" if step.status == "planned" else "nearest candidate (no safe protocol)"
    return step.case, args.zone, step.band_c, f"{status} for {args.goal}: {words}"


def run(args: argparse.Namespace) -> int:
    from cryoderm.cohort.plots import check_plot_path
    from cryoderm.cohort.population import VirtualPopulation, check_n
    from cryoderm.cohort.risk import protocol_risk
    from cryoderm.research.outputs import check_path

    out = check_path(args.out) if args.out else None
    summary_out = check_path(args.summary_out, "--summary-out") if args.summary_out else None
    plot = check_plot_path(args.plot) if args.plot else None
    case, zone, band, protocol = _protocol(args)
    if args.band_c is not None:
        band = _range(args.band_c, "--band-c", "C")
    ages: tuple[int | None, int | None] = (None, None)
    if args.age is not None:
        low, high = _range(args.age, "--age", "whole years")
        if not (low.is_integer() and high.is_integer()):
            raise BadOption(f"--age = {args.age!r}: whole years, e.g. 25-70")
        ages = (int(low), int(high))
    population = VirtualPopulation(
        zone, sex=args.sex, age_min_years=ages[0], age_max_years=ages[1], seed=args.seed
    )
    check_n(args.n)  # before any cluster starts
    with (
        _cluster(args) as client,
        _research.progress_bar(f"{args.n:,} subjects") as progress,
    ):
        result = protocol_risk(
            case,
            population,
            args.n,
            floor_c=args.floor_c,
            band_c=band,
            client=client,
            block_size=args.block_size,
            progress=progress,
            protocol=protocol,
        )
    if out is not None or summary_out is not None:
        from cryoderm.research.outputs import case_provenance, write

        for path, frame in ((out, result.subjects_frame), (summary_out, result.to_dataframe)):
            if path is not None:
                table = frame()
                table.attrs.update(case_provenance(case))
                write(table, path)
    if plot is not None:
        from cryoderm.cohort.plots import write_distributions

        write_distributions(result, plot)
    if args.format == "json":
        print(json.dumps(result.to_json_dict(), indent=2))
        return 0
    _table(result)
    return 0


def _cluster(args: argparse.Namespace) -> Any:
    """A context giving a Dask client, or None to run in this process."""
    from contextlib import nullcontext

    from cryoderm.cohort.cluster import client_for

    if args.scheduler is None and (
        args.workers == 0 or (args.workers is None and args.n < DASK_FROM)
    ):
        return nullcontext(None)
    return client_for(args.scheduler, n_workers=args.workers or None)


def _percent(value: float | None) -> str:
    return "n/a (no successful run)" if value is None else f"{100 * value:.1f} %"


def _line(label: str, value: str) -> None:
    print(f"  {label:<28}{value}")


def _table(result: Any) -> None:
    counts = ", ".join(f"{k} {v}" for k, v in result.status_counts.items())
    first, last = result.age_range_years
    print(
        f"{result.zone}, {result.modality or 'no device phase'}: {result.n} subjects "
        f"({result.sex}, {first}-{last} y, seed {result.seed}); runs: {counts}"
    )
    print(f"  protocol: {result.protocol}")
    for status, message in result.messages.items():
        print(f"  {status}: {message}")
    _line("freezing risk predicted", _percent(result.freeze_risk_fraction))
    _line(f"skin below the {result.floor_c:g} C floor", _percent(result.below_floor_fraction))
    if result.band_c is not None:
        low, high = result.band_c
        _line(f"reaching the {low:g}-{high:g} C band", _percent(result.reaching_band_fraction))
    if result.min_surface_temp_c:
        points = result.min_surface_temp_c.items()
        _line("coldest skin (C)", "  ".join(f"{k} {v:.1f}" for k, v in points))
        for name, below in result.surface_time_below_s.items():
            cells = "  ".join(f"{k} {v:.0f}" for k, v in below.items())
            _line(f"time below {name[:-1]} C (s)", cells)
