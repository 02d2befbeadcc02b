"""``cryoderm backup``: an encrypted backup of the whole clinic, taken while it runs.

    cryoderm backup FILE                          # with the key directory's backup.key
    cryoderm backup FILE --passphrase-env VAR     # with the passphrase in $VAR instead

The file (mode 0600) holds the database, the photographs and the interlock journal,
encrypted and authenticated. Restore with ``cryoderm restore FILE``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "backup",
        help="back up the clinic (database, photographs, journal) to an encrypted file",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", type=Path, help="the backup file to write")
    add_passphrase_option(parser)
    parser.set_defaults(handler=run)


def add_passphrase_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--passphrase-env",
        metavar="VAR",
        help="use the passphrase in environment variable VAR instead of the key directory's "
        "backup.key (a passphrase is never given on the command line, where others see it)",
    )


def passphrase(args: argparse.Namespace) -> str | None:
    """The passphrase named by --passphrase-env, or None."""
    import os

    from cryoderm.errors import UserInputError

    if not args.passphrase_env:
        return None
    value = os.environ.get(args.passphrase_env)
    if not value:
        raise UserInputError(f"--passphrase-env = {args.passphrase_env}: that variable is not set")
    return value


def run(args: argparse.Namespace) -> int:
    from cryoderm.clinic import runtime

    runtime.setup()
    from cryoderm.clinic import audit, backup

    secret = passphrase(args)
    audit.record("cli:backup", "database.backup", None, {"file": str(args.file)})
    description = backup.backup(args.file, passphrase=secret)
    print(f"{description} written to {args.file}")
    return 0
