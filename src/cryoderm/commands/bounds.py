"""``cryoderm bounds``: every key of a case file with its unit, limits, default and source.

    cryoderm bounds [--format table|markdown|json]

The one bounds table (src/cryoderm/data/bounds.toml) that the case-file parser and the
physics value objects enforce; markdown is the "Keys" table of docs/case-file.md.
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "bounds",
        help="list every case-file key with its unit, limits, default and source",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--format", choices=("table", "markdown", "json"), default="table")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cryoderm.physics import bounds

    if args.format == "markdown":
        print(bounds.markdown(), end="")
        return 0
    if args.format == "json":
        columns = ("key", "unit", "allowed", "default", "source")
        print(json.dumps([dict(zip(columns, row, strict=True)) for row in bounds.rows()], indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="case-file keys (src/cryoderm/data/bounds.toml)", expand=True)
    for column in ("key", "unit", "allowed", "default", "source"):
        table.add_column(column, ratio=3 if column == "source" else 1)
    for row in bounds.rows():
        table.add_row(*(cell.replace("`", "") for cell in row))
    Console().print(table)
    return 0
