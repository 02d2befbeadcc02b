"""Run every ``benchmarks/bench_*.py`` module's ``main()`` in this process, in name order.

python -m benchmarks [NAME ...]     # NAME: e.g. physics for bench_physics (default: all)
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import benchmarks
from benchmarks.report import Report, save, show

RESULTS = Path("bench-results")


def main(argv: list[str]) -> int:
    names = sorted(
        m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_")
    )
    if argv:
        wanted = {f"bench_{name.removeprefix('bench_')}" for name in argv}
        unknown = wanted - set(names)
        if unknown:
            print(
                f"unknown benchmark(s): {', '.join(sorted(unknown))}; have: {', '.join(names)}",
                file=sys.stderr,
            )
            return 2
        names = [name for name in names if name in wanted]
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        report = module.main()
        if not isinstance(report, Report):
            print(f"{name}.main() returned {type(report).__name__}, not a Report", file=sys.stderr)
            return 1
        show(report)
        print(f"  saved {save(report, name, RESULTS)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
