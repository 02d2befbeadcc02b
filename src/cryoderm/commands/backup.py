"""``cryoderm backup``: a consistent backup of the clinic's database, taken while it runs.

    cryoderm backup FILE        # SQLite snapshot, or pg_dump custom format on PostgreSQL

Restore with ``cryoderm restore FILE``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "backup",
        help="back up the clinic's database to a file",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", type=Path, help="the backup file to write")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cryoderm.clinic import runtime

    runtime.setup()
    from cryoderm.clinic import audit, backup

    audit.record("cli:backup", "database.backup", None, {"file": str(args.file)})
    description = backup.backup(args.file)
    print(f"{description} written to {args.file}")
    return 0
