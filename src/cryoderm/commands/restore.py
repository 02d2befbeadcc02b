"""``cryoderm restore``: replace the clinic with a backup, after verifying all of it.

    cryoderm restore FILE [--passphrase-env VAR] [--without-checkpoints]

The backup is decrypted and authenticated, every file checked against its manifest, and its
audit chain verified (seals with the key directory's audit keys, and this clinic's signed
checkpoints up to the backup's newest entry) BEFORE anything is replaced; then the
photographs and journal are swapped in and the database replaced in one transaction.

Exit 0 when restored; 1 when the backup was altered or damaged or its audit chain does not
verify (nothing was restored); 2 when the file is not a usable backup (or no key).
Stop `cryoderm serve` and the interlock first.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cryoderm.commands.backup import add_passphrase_option, passphrase


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "restore",
        help="restore the clinic from a backup file (verified before anything is replaced)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", type=Path, help="a file written by `cryoderm backup`")
    add_passphrase_option(parser)
    parser.add_argument(
        "--without-checkpoints",
        action="store_true",
        help="do not compare with this clinic's signed checkpoints (a backup from before an "
        "earlier restore to an older backup)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cryoderm.clinic import runtime

    runtime.setup()
    from cryoderm.clinic import audit, backup

    try:
        restored = backup.restore(
            args.file,
            passphrase=passphrase(args),
            use_checkpoints=not args.without_checkpoints,
        )
    except backup.BackupRejected as rejected:
        print(f"restore refused: {rejected}", file=sys.stderr)
        return 1
    print(restored.description)
    print(f"backup's {restored.verification}")
    # The restored chain is older than the checkpoints of the replaced one: they are kept
    # aside, and a new file starts at the restored head (with the restore's own entry).
    kept = audit.checkpoints.archive("before-restore")
    audit.record(
        "cli:restore",
        "database.restore",
        None,
        {"file": str(args.file), "checkpoints_kept_as": str(kept) if kept else None},
    )
    audit.checkpoints.write_now()
    result = audit.verify()
    print(result, file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else 1
