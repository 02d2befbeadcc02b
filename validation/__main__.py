"""``python -m validation [--plots DIR] [--only ID ...]``: model against measured data.

Runs every comparison of data/measurements.toml through the public engine in one batched
call, prints model versus data with the error of each figure, and writes one plot per
target (docs/validation/ by default). Exit status 1 if a claimed target is missed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from validation import report
from validation.runner import run

DEFAULT_PLOTS = Path(__file__).resolve().parent.parent / "docs" / "validation"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m validation", description=__doc__)
    parser.add_argument(
        "--plots", type=Path, default=DEFAULT_PLOTS, help="directory for the PNG plots"
    )
    parser.add_argument("--no-plots", action="store_true", help="print only")
    parser.add_argument("--only", nargs="*", help="target ids to run (default: all)")
    args = parser.parse_args(argv)
    outcomes = run(args.only)
    print(report.table(outcomes))
    if not args.no_plots:
        for outcome in outcomes:
            report.plot(outcome, args.plots)
    missed = [o.target_id for o in outcomes if not o.passed]
    claimed = [o for o in outcomes if o.claimed]
    print(
        f"\n{len(claimed) - len(missed)} of {len(claimed)} claimed targets met; missed: {', '.join(missed) or 'none'}"
    )
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
