"""``cryoderm``: one command, thin over the library.

Each sub-command lives in its own module under :mod:`cryoderm.commands` and exposes
``register(subparsers)``, which adds its parser and sets ``handler`` to a function taking the
parsed arguments and returning an exit code. Command modules import heavy libraries inside
their handler, so that ``cryoderm simulate`` starts fast.

Errors map to exit codes here and only here: a user-input error is 2, a refused action 3.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import signal
import sys
from collections.abc import Sequence

from cryoderm import commands
from cryoderm.errors import CryodermError, NotPermitted, UserInputError

EXIT_OK = 0
EXIT_INPUT = 2
EXIT_REFUSED = 3


def exit_code_for(error: CryodermError) -> int:
    if isinstance(error, UserInputError):
        return EXIT_INPUT
    if isinstance(error, NotPermitted):
        return EXIT_REFUSED
    return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cryoderm",
        description="Safe, evidence-based facial cryotherapy: physics, screening, planning, "
        "a fail-safe interlock and clinic records.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{module_info.name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # `cryoderm plan ... | head` closes the pipe early: end quietly, as Unix tools do.
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or EXIT_OK)
    except CryodermError as error:
        print(f"cryoderm {args.command}: {error}", file=sys.stderr)
        return exit_code_for(error)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
