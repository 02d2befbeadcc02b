"""The thermal model against measured physiology (data/measurements.toml).

Every target the model claims to reproduce (claim "quantitative" or "ordering") must be met
within the tolerance the table derives from the measurement's spread. All comparisons run
through the public engine in one batched ``simulate_many`` call (validation.runner).
Documented-only targets are run too, so that a comparison that stops running is noticed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    # The harness lives in validation/ at the repository root, beside src/.
    sys.path.insert(0, str(ROOT))

from validation.outcome import Outcome  # noqa: E402
from validation.runner import run  # noqa: E402

from validation import model  # noqa: E402

# One worker runs the whole module, so the batched comparison runs once per test session.
pytestmark = pytest.mark.xdist_group("validation-measured-data")

TARGETS = [entry["id"] for entry in model.measurements()["target"]]
CLAIMED = [
    entry["id"] for entry in model.measurements()["target"] if entry["claim"] != "documented"
]


@pytest.fixture(scope="module")
def outcomes() -> dict[str, Outcome]:
    return {outcome.target_id: outcome for outcome in run()}


def test_every_target_has_a_source_conditions_and_a_modelling_note() -> None:
    for entry in model.measurements()["target"]:
        for key in ("source", "conditions", "modelling", "claim"):
            assert entry.get(key), f"{entry['id']} lacks {key}"
        if entry["claim"] == "documented":
            assert entry.get("limitation"), f"{entry['id']} is not claimed but says not why"
        if "value" in entry and entry["claim"] == "quantitative":
            assert entry.get("tolerance_basis"), f"{entry['id']} gives no basis for its tolerance"


def test_every_comparison_runs(outcomes: dict[str, Outcome]) -> None:
    assert sorted(outcomes) == sorted(TARGETS)
    for outcome in outcomes.values():
        assert not outcome.failures, f"{outcome.target_id}: {outcome.failures}"


@pytest.mark.parametrize("target_id", CLAIMED)
def test_the_model_meets_the_measured_target(outcomes: dict[str, Outcome], target_id: str) -> None:
    outcome = outcomes[target_id]
    assert outcome.claimed, f"{target_id} is claimed but checks nothing"
    missed = [
        f"{c.label}: model {c.model} vs data {c.measured} (tolerance {c.tolerance})"
        for c in outcome.claimed
        if not c.passed
    ]
    assert not missed, "; ".join(missed)


def test_documented_targets_claim_nothing(outcomes: dict[str, Outcome]) -> None:
    for outcome in outcomes.values():
        if outcome.claim == "documented":
            assert not outcome.claimed, f"{outcome.target_id} is documented but claims a check"
