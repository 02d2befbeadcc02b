"""``cryoderm simulate``: run one case file through the thermal engine.

    cryoderm simulate CASE.toml [--format json|table] [--plot FILE.png|FILE.html] [--full-field]
                               [--out FILE.csv|FILE.parquet|FILE.nc]

json prints the result object of docs/case-file.md ("cryoderm-result/1"), with its
provenance: the cryoderm version, the resolved case and its SHA-256; table prints a summary.
--out also writes the probe series (and, to .nc, the full field) with the metrics, safety
figures and the resolved case in the file's metadata (docs/research.md).
Exit 0 when the simulation's status is ok, 1 when it failed; 2 for a bad case file (one line
on standard error naming key, value, unit and what is allowed; with --format json also
{"status": "invalid", ...} on standard output).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from cryoderm.errors import UserInputError

RESULT_FORMAT = "cryoderm-result/1"
PLOT_SUFFIXES = (".png", ".html")


class BadOption(UserInputError):
    """A command-line option that cannot be honoured (exit 2)."""


class InvalidCase(UserInputError):
    """The engine found the case impossible to simulate (status "invalid"): exit 2."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="simulate a case file (skin temperature at depth under a cold exposure)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("case", help="case file (TOML, format cryoderm-case/1)")
    parser.add_argument("--format", choices=("json", "table"), default="table")
    parser.add_argument("--plot", metavar="FILE", help="also write a plot: FILE.png or FILE.html")
    parser.add_argument(
        "--full-field",
        action="store_true",
        help="include T(depth, time) (axisymmetric: T(depth, radius, time)) in the JSON output",
    )
    parser.add_argument(
        "--out", metavar="FILE", help="also write the series: FILE.csv, FILE.parquet or FILE.nc"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except UserInputError as error:
        if args.format == "json":
            invalid = {"format": RESULT_FORMAT, "status": "invalid", "message": str(error)}
            print(json.dumps(invalid))
        raise


def _run(args: argparse.Namespace) -> int:
    import dataclasses

    import cryoderm

    plot = Path(args.plot) if args.plot else None
    if plot is not None and plot.suffix.lower() not in PLOT_SUFFIXES:
        raise BadOption(f"--plot = {args.plot!r}: a file name ending in .png or .html")
    if plot is not None and not plot.parent.is_dir():
        raise BadOption(f"--plot = {args.plot!r}: a file in an existing folder")
    out = None
    if args.out:
        from cryoderm.research.outputs import check_path

        out = check_path(args.out)
    case = cryoderm.load_case(args.case)
    asked_field = args.full_field or case.output.full_field
    # The plot of an axisymmetric case shows its r-z map: it needs the field.
    if asked_field or (plot is not None and case.geometry.axisymmetric):
        case = dataclasses.replace(case, output=dataclasses.replace(case.output, full_field=True))
    from cryoderm.commands._research import wait_with_progress

    result = wait_with_progress(lambda: cryoderm.simulate(case), f"simulating {args.case}")
    document = result.to_json_dict()
    shown = document if asked_field else {k: v for k, v in document.items() if k != "field"}
    if document.get("status") == "invalid":
        raise InvalidCase(document.get("message", ""))
    if args.format == "json":
        json.dump(shown, sys.stdout, allow_nan=False)
        sys.stdout.write("\n")
    else:
        _print_table(shown, case.title or args.case)
    if out is not None:
        from cryoderm.research.outputs import write_result

        write_result(result, case, out)
    if plot is not None:
        from cryoderm.viz import write_plot

        try:
            write_plot(document, case, plot)
        except OSError as error:
            raise BadOption(
                f"--plot = {args.plot!r}: cannot be written ({error.strerror})"
            ) from None
    return 0 if document.get("status") == "ok" else 1


def _fmt(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1e-3 or abs(value) >= 1e5 else f"{value:.2f}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items())
    return str(value)


def _print_table(document: dict[str, Any], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    status = document.get("status", "")
    style = "green" if status == "ok" else "red"
    console.print(f"[bold]{title}[/bold]  status: [{style}]{status}[/{style}]")
    if document.get("message"):
        console.print(document["message"])
    made = document.get("provenance")
    if made:
        console.print(
            f"cryoderm {made['cryoderm_version']}, resolved case sha256 {made['case_sha256']}",
            soft_wrap=True,
        )
    time_s = document.get("time_s") or []
    probes = Table(title="probes (°C)")
    for column in ("probe", "start", "minimum", "at time (s)", "end"):
        probes.add_column(column, justify="right" if column != "probe" else "left")
    for name, series in (document.get("probes") or {}).items():
        values = [v for v in series if v is not None]
        if not values:
            probes.add_row(name, "-", "-", "-", "-")
            continue
        low = min(values)
        at = time_s[series.index(low)] if time_s else 0.0
        probes.add_row(name, _fmt(values[0]), _fmt(low), _fmt(float(at)), _fmt(values[-1]))
    console.print(probes)
    for section in ("metrics", "safety"):
        table = Table(title=section)
        table.add_column("quantity")
        table.add_column("value", justify="right")
        for key, value in (document.get(section) or {}).items():
            table.add_row(key, _fmt(value))
        console.print(table)
