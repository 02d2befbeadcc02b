"""cryoderm's benchmarks: ``python -m benchmarks`` (or ``make bench``) runs them all.

Each ``benchmarks/bench_*.py`` module exposes ``main() -> Report`` (see
:mod:`benchmarks.report`). The runner prints one table per benchmark and writes
``bench-results/<module>.json``. Benchmarks report ratios against peers measured in the same
run, not absolute pass/fail: the machine is shared and its speed varies. See docs/benchmarks.md.
"""
