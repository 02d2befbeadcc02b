"""What the research commands (sensitivity, sweep, fit) share: progress bars on standard
error for runs longer than a second, ``--out``, the Dask options, the parameters file.

Not a command itself (its name starts with "_"). Heavy libraries are imported in the
functions, so that registering the commands costs nothing at start-up.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

#: A progress bar appears once a run has taken this long (shorter runs print nothing).
PROGRESS_AFTER_S = 1.0
#: Designs of at least this many runs go to a local Dask cluster unless told otherwise.
DASK_FROM_RUNS = 20_000


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """A ``progress(done, total)`` callback drawing a rich bar on standard error, shown only
    once the work has run for PROGRESS_AFTER_S (so quick runs stay quiet)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    start = time.monotonic()
    state: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if "bar" not in state:
            if time.monotonic() - start < PROGRESS_AFTER_S:
                return
            bar = Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            bar.start()
            state["bar"], state["task"] = bar, bar.add_task(label, total=total)
        state["bar"].update(state["task"], completed=done, total=total)

    try:
        yield update
    finally:
        if "bar" in state:
            state["bar"].stop()


def wait_with_progress(run: Callable[[], Any], label: str, console: Any = None) -> Any:
    """``run()``'s value, run on a thread of its own while this one shows a rich bar with
    the elapsed time on standard error once it has taken PROGRESS_AFTER_S (one simulation
    is one kernel call, which releases the GIL but does not report how far it is: the bar
    pulses). An exception of ``run`` is raised here. console: where to draw (tests)."""
    import threading

    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["value"] = run()
        except BaseException as error:  # handed to the calling thread, raised there
            box["error"] = error

    thread = threading.Thread(target=work, name="cryoderm-run", daemon=True)
    thread.start()
    thread.join(PROGRESS_AFTER_S)
    if thread.is_alive():
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TimeElapsedColumn

        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            TimeElapsedColumn(),
            console=console or Console(stderr=True),
            transient=True,
        ) as bar:
            bar.add_task(label, total=None)
            while thread.is_alive():
                thread.join(0.1)
    if "error" in box:
        raise box["error"]
    return box["value"]


def add_out(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", metavar="FILE", help="also write the table: FILE.csv, FILE.parquet or FILE.nc"
    )


def out_path(args: argparse.Namespace) -> Path | None:
    """The checked ``--out`` path (before any work), or None."""
    if not args.out:
        return None
    from cryoderm.research.outputs import check_path

    return check_path(args.out)


def add_cluster(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scheduler", help="address of a running Dask scheduler")
    parser.add_argument(
        "--workers",
        type=int,
        help=f"local Dask workers (0: run here; default: here below {DASK_FROM_RUNS:,} runs)",
    )


def cluster(args: argparse.Namespace, runs: int) -> Any:
    """A context giving a Dask client (or None to run in this process) for ``runs`` runs."""
    if args.scheduler is None and (
        args.workers == 0 or (args.workers is None and runs < DASK_FROM_RUNS)
    ):
        return nullcontext(None)
    from cryoderm.cohort.cluster import client_for

    return client_for(args.scheduler, n_workers=args.workers or None)


@contextmanager
def running(args: argparse.Namespace, runs: int) -> Iterator[tuple[Any, Any]]:
    """(Dask client or None, progress callback) for a design of ``runs`` runs."""
    with cluster(args, runs) as client, progress_bar(f"{runs:,} runs") as progress:
        yield client, progress


def load_toml(path: str, option: str) -> dict[str, Any]:
    """A TOML file's document; InvalidStudy naming ``option`` if it cannot be read."""
    import tomllib

    from cryoderm.research.errors import InvalidStudy

    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise InvalidStudy(option, path, f"cannot be read ({error.strerror})") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise InvalidStudy(option, path, f"valid UTF-8 TOML: {error}") from None


def print_frame(frame: Any, title: str, digits: int = 4, limit: int = 60) -> None:
    """A DataFrame as a rich table (the first ``limit`` rows)."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape(title))
    index = [name for name in frame.index.names if name is not None]
    for name in (*index, *frame.columns):
        table.add_column(escape(str(name)), justify="left" if name in index else "right")
    for key, row in frame.head(limit).iterrows():
        keys = key if isinstance(key, tuple) else (key,)
        cells = [str(k) for k in keys][: len(index)]
        cells += [_cell(value, digits) for value in row]
        table.add_row(*(escape(cell) for cell in cells))
    console = Console()
    console.print(table)
    if len(frame) > limit:
        console.print(f"... {len(frame) - limit} more rows: write them all with --out FILE.csv")


def _cell(value: Any, digits: int) -> str:
    if isinstance(value, float):
        return "—" if value != value else f"{value:.{digits}g}"
    return str(value)
