"""``cryoderm cohort CASE.toml``: protocol risk over a virtual population, on Dask.

cryoderm cohort CASE.toml [--size N] [--seed S] [--floor-c T] [--scheduler ADDRESS]
                          [--workers N] [--format table|json]

The case must use a built-in zone; each subject gets that zone's tissue varied within the
sourced spreads of data/cohort.toml. Runs on a local Dask cluster unless --scheduler names
one (tcp://host:8786). Reports the fraction of subjects with a predicted freezing risk and
the fraction whose skin goes below the modality's floor. See docs/cohort.md.
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "cohort",
        help="protocol risk over a virtual population (Dask)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("case", help="a cryoderm case file on a built-in zone")
    parser.add_argument("--size", type=int, default=200, help="number of subjects (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--floor-c", type=float, help="skin floor in C (default: the modality's)")
    parser.add_argument("--scheduler", help="address of a running Dask scheduler")
    parser.add_argument("--workers", type=int, default=2, help="local workers (default 2)")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import cryoderm
    from cryoderm.cohort import risk
    from cryoderm.errors import UserInputError

    case = cryoderm.load_case(args.case)
    if args.workers < 1:
        raise UserInputError(f"--workers = {args.workers}: at least 1")
    try:
        result = risk.protocol_risk(
            case,
            args.size,
            seed=args.seed,
            floor_c=args.floor_c,
            scheduler_address=args.scheduler,
            n_workers=args.workers,
        )
    except ValueError as error:
        raise UserInputError(str(error)) from None
    if args.format == "json":
        print(json.dumps(result.to_json_dict(), indent=2))
        return 0
    print(
        f"zone {result.zone}: {result.size} subjects (seed {result.seed}), floor {result.floor_c:g} C"
    )
    print(f"  freezing risk predicted: {100 * result.freeze_risk_fraction:.1f} %")
    print(f"  skin below the floor:    {100 * result.below_floor_fraction:.1f} %")
    if result.min_surface_p05_c is not None and result.min_surface_p50_c is not None:
        print(
            f"  minimum skin temperature: median {result.min_surface_p50_c:.1f} C, 5th percentile {result.min_surface_p05_c:.1f} C"
        )
    if result.failed:
        print(f"  runs failed: {result.failed}")
    return 0
