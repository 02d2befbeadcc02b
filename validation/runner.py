"""Run every comparison with one batched ``simulate_many`` call."""

from __future__ import annotations

from collections.abc import Iterable

from cryoderm.physics.engine import simulate_many
from validation.comparisons import PLANS
from validation.outcome import Outcome, Plan


def plans(only: Iterable[str] | None = None) -> list[Plan]:
    wanted = set(only) if only is not None else None
    built = [make() for make in PLANS]
    return [plan for plan in built if wanted is None or plan.target_id in wanted]


def run(only: Iterable[str] | None = None) -> list[Outcome]:
    """The outcome of every comparison (or of those named in ``only``)."""
    selected = plans(only)
    cases = [case for plan in selected for case in plan.cases]
    results = simulate_many(cases)
    outcomes = []
    start = 0
    for plan in selected:
        mine = results[start : start + len(plan.cases)]
        start += len(plan.cases)
        failed = [
            f"{case.title}: {r.status} {r.message}"
            for case, r in zip(plan.cases, mine, strict=True)
            if not r.ok
        ]
        if failed:
            target = plan.target_id
            outcomes.append(Outcome(target, target, "documented", (), (), None, tuple(failed)))
            continue
        outcomes.append(plan.evaluate(mine))
    return outcomes
