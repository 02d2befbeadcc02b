"""``cryoderm manage``: Django's management commands for the clinic.

cryoderm manage migrate --noinput
cryoderm manage createsuperuser
cryoderm manage check --deploy
"""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "manage",
        help="run one of Django's management commands on the clinic (migrate, shell, ...)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=False,
    )
    parser.add_argument("arguments", nargs=argparse.REMAINDER, help="the command and its options")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cryoderm.clinic import runtime

    runtime.setup()
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(["cryoderm manage", *(args.arguments or ["help"])])
    except SystemExit as leaving:
        return int(leaving.code or 0) if not isinstance(leaving.code, str) else 1
    return 0
