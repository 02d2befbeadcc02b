"""The harness's own arithmetic, against exact answers (tests/validation/test_measured_data.py
runs the comparisons themselves)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    # The harness lives in validation/ at the repository root, beside src/.
    sys.path.insert(0, str(ROOT))

from validation import frostnip  # noqa: E402
from validation import model as m  # noqa: E402

FACTORS = [0.63, 0.8, 1.0, 1.25, 1.6]


def test_the_factor_that_reproduces_a_time_is_exact_on_a_power_law() -> None:
    # t = 7 f^-1.7 is a straight line in log-log, so log interpolation recovers f exactly.
    times = [7.0 * f**-1.7 for f in FACTORS]
    observed = 7.0 * 1.1**-1.7
    assert frostnip._interpolated_factor(FACTORS, times, observed) == pytest.approx(1.1, rel=1e-12)


def test_no_factor_outside_the_scanned_range_or_without_two_times() -> None:
    times = [7.0 * f**-1.7 for f in FACTORS]
    assert frostnip._interpolated_factor(FACTORS, times, 100.0) is None
    assert frostnip._interpolated_factor(FACTORS, [None, None, None, 3.0, None], 3.0) is None


def test_a_caliper_skinfold_is_two_layers_of_skin_and_fat() -> None:
    skin = m.skin_mm()
    assert m.fat_from_skinfold(20.0) == pytest.approx(10.0 - skin)
    # A fold thinner than twice the skin still leaves a thin fat layer for the solver.
    assert m.fat_from_skinfold(2.0) == 0.5
