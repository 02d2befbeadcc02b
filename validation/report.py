"""Printing the comparison table and drawing one plot per target."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from validation.outcome import Check, Outcome


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}"


def _status(check: Check) -> str:
    if check.passed is None:
        return "shown"
    return "ok" if check.passed else "FAIL"


def table(outcomes: Sequence[Outcome]) -> str:
    """Model against data with errors, one block per target."""
    lines = []
    for outcome in outcomes:
        verdict = "PASS" if outcome.passed else "FAIL"
        lines.append(f"== {outcome.target_id} [{outcome.claim}] {verdict}: {outcome.title}")
        for failure in outcome.failures:
            lines.append(f"   run failed: {failure}")
        for check in outcome.checks:
            tol = "" if check.tolerance is None else f" tol {check.tolerance:.3g}"
            err = "" if check.error is None else f" error {check.error:+.3g}"
            lines.append(
                f"   {_status(check):5} {check.label}: model {_number(check.model)}"
                f" data {_number(check.measured)} {check.unit}{err}{tol}"
            )
    return "\n".join(lines)


def plot(outcome: Outcome, directory: Path) -> Path | None:
    """Draw the outcome's plot to ``directory/<target id>.png``; None if it has none."""
    if outcome.plot is None:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spec = outcome.plot
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=100)
    for line in spec.lines:
        ax.plot(line.x, line.y, label=line.label, linewidth=1.3)
    for point in spec.points:
        ax.errorbar(
            [point.x],
            [point.y],
            xerr=[point.x_err],
            yerr=[point.y_err],
            fmt="o",
            color="black",
            capsize=4,
            label=point.label,
        )
    for label, value in spec.hlines:
        ax.axhline(value, linestyle="--", linewidth=1.0, color="grey")
        ax.annotate(
            label, (0.01, value), xycoords=("axes fraction", "data"), fontsize=7, va="bottom"
        )
    ax.set_xlabel(spec.xlabel)
    ax.set_ylabel(spec.ylabel)
    ax.set_title(outcome.title, fontsize=9)
    if len(spec.lines) + len(spec.points) <= 12:
        ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{outcome.target_id}.png"
    fig.savefig(path)
    plt.close(fig)
    return path
