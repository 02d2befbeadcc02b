"""The one result shape every benchmark returns, and how the runner shows and saves it."""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Report:
    """A benchmark's outcome: a table (columns, rows of cells) plus free notes and raw data.

    rows: one list per compared approach, cells as numbers or text (None shows as "-").
    targets: the issue's targets with the measured value and whether it was met.
    """

    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    targets: list[dict[str, Any]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value == 0:
            return "0"
        return f"{value:.3g}" if abs(value) < 0.01 or abs(value) >= 1e4 else f"{value:.3f}"
    return str(value)


def show(report: Report) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=160)
    table = Table(title=report.title, title_justify="left")
    for column in report.columns:
        table.add_column(column)
    for row in report.rows:
        table.add_row(*(_cell(value) for value in row))
    console.print(table)
    for target in report.targets:
        verdict = "met" if target["met"] else "NOT met"
        console.print(
            f"  target {target['name']}: {_cell(target['measured'])} "
            f"{target['unit']} (target {target['target']}) -> {verdict}"
        )
    for note in report.notes:
        console.print(f"  note: {note}")


def save(report: Report, name: str, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    document = {
        "benchmark": name,
        "python": platform.python_version(),
        "machine": platform.machine(),
        **asdict(report),
    }
    path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    return path
