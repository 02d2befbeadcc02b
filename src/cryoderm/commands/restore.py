"""``cryoderm restore``: replace the clinic's database with a backup, then verify its audit log.

    cryoderm restore FILE       # a file written by `cryoderm backup` on the same engine

Exit 0 when restored and the audit chain is intact; 1 when restored but the chain is
broken (the backup was damaged or doctored); 2 when the file is not a usable backup.
Stop `cryoderm serve` first.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "restore",
        help="restore the clinic's database from a backup file",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", type=Path, help="a file written by `cryoderm backup`")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cryoderm.clinic import runtime

    runtime.setup()
    from cryoderm.clinic import audit, backup

    print(backup.restore(args.file))
    # The restored chain is older than the checkpoints of the replaced one: they are kept aside.
    audit.checkpoints.archive("before-restore")
    audit.record("cli:restore", "database.restore", None, {"file": str(args.file)})
    result = audit.verify()
    print(result, file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else 1
