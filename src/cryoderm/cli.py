"""``cryoderm``: one command, thin over the library.

Each sub-command lives in its own module under :mod:`cryoderm.commands` and exposes
``register(subparsers)``, which adds its parser and sets ``handler`` to a function taking the
parsed arguments and returning an exit code. Command modules import heavy libraries inside
their handler, so that ``cryoderm simulate`` starts fast.

Errors map to exit codes here and only here: a user-input error is 2, a refused action 3.

SIGPIPE stays ignored (Python's own setting) for every sub-command: a long-running one
(``serve``, ``interlock``, ``device-sim``, a Dask cohort) writes to sockets, and a peer that
goes away must cost it one failed write, never the process. A short command whose standard
output is a pipe closed early (``cryoderm plan ... | head``) gets a BrokenPipeError instead,
which ends it quietly here, as a Unix tool ends.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import select
import signal
import sys
from collections.abc import Sequence

from cryoderm import commands
from cryoderm.errors import CryodermError, NotPermitted, UserInputError

EXIT_OK = 0
EXIT_INPUT = 2
EXIT_REFUSED = 3
#: What a shell reports for a tool ended by SIGPIPE (128 + the signal's number, 13 on Linux).
EXIT_PIPE_CLOSED = 128 + int(getattr(signal, "SIGPIPE", 13))


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


def stdout_reader_gone() -> bool:
    """True when standard output is a pipe or socket whose reading end is closed."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):
        return False


def _end_quietly_on_closed_stdout() -> int:
    # Python would flush the broken stdout again at exit and print an error: point it at
    # /dev/null first (the recipe of Python's signal documentation, "Note on SIGPIPE").
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_PIPE_CLOSED


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = int(args.handler(args) or EXIT_OK)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        if not stdout_reader_gone():
            raise
        return _end_quietly_on_closed_stdout()
    except CryodermError as error:
        print(f"cryoderm {args.command}: {error}", file=sys.stderr)
        return exit_code_for(error)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
