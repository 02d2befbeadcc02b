"""The planner plans for the cold tail: every step's margins hold at the 5th percentile of its
varied runs (the sourced spreads of data/spreads.toml), and the plan reports the intervals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from cryoderm.clinical.catalogue import planner_settings
from cryoderm.clinical.planner import Plan, PlanRequest, plan
from cryoderm.physics import intervals
from cryoderm.physics.intervals import Interval
from cryoderm.physics.results import SimulationResult

MODALITIES = ("cold-air", "ln2-vapour", "contact")


@pytest.fixture(scope="module", params=MODALITIES)
def planned(request: pytest.FixtureRequest) -> Plan:
    return plan(
        PlanRequest(
            goals=("skin-tone",),
            zones=("forehead", "cheek", "nose"),
            modality=request.param,
            sex="female",
            age_years=45,
        )
    )


def test_every_step_carries_its_intervals_and_judges_the_cold_tail(planned: Plan) -> None:
    samples = planner_settings().interval_samples
    for step in planned.steps:
        p = step.prediction
        assert p.intervals is not None and p.intervals.samples == samples
        assert p.intervals.failed == 0
        assert {"dermis_thickness", "deep_thickness"} <= set(p.intervals.parameters)
        minimum = p.intervals.metrics["min_surface_temp_c"]
        assert minimum.low is not None and minimum.median is not None and minimum.high is not None
        assert minimum.low <= minimum.median <= minimum.high
        m = p.margins
        assert m.basis == f"5th percentile of {samples} varied runs"
        # The cold tail is never warmer than the nominal run.
        assert m.nominal_to_floor_k is not None and m.to_floor_k <= m.nominal_to_floor_k + 1e-9
        assert m.nominal_to_freezing_k is not None
        assert m.to_freezing_k <= m.nominal_to_freezing_k + 1e-9


def test_planned_steps_keep_every_limit_in_the_cold_tail(planned: Plan) -> None:
    settings = planner_settings()
    for step in planned.steps:
        if step.status != "planned":
            continue
        m = step.prediction.margins
        assert m.to_floor_k >= 0 and m.to_freezing_k >= settings.layer_margin_k
        assert m.freeze_risk_time_s is None


def test_the_plan_json_reports_intervals_and_the_margins_basis(planned: Plan) -> None:
    step = planned.to_json_dict(curves=False)["steps"][0]
    assert set(step["intervals"]) == {"parameters", "samples", "seed", "failed", "metrics"}
    assert set(step["intervals"]["metrics"]["min_surface_temp_c"]) == {"p05", "p50", "p95"}
    assert step["margins"]["basis"].startswith("5th percentile of")
    assert "nominal_to_floor_k" in step["margins"]


def test_the_intervals_are_reproducible() -> None:
    request = PlanRequest(goals=("skin-tone",), zones=("cheek",), modality="contact")
    first, again = plan(request), plan(request)
    assert first.steps[0].prediction.intervals is not None
    assert again.steps[0].prediction.intervals is not None
    assert (
        first.steps[0].prediction.intervals.metrics == again.steps[0].prediction.intervals.metrics
    )


def test_a_pick_whose_cold_tail_breaks_a_limit_is_searched_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Make every varied run's minimum 3 K colder than computed: the nominal pick's cold tail
    then breaks its limits, and the planner must come back with a gentler delivery whose
    cold tail keeps them."""
    request = PlanRequest(goals=("skin-tone",), zones=("cheek",), modality="cold-air")
    plain = plan(request).steps[0]
    real = intervals.summarise

    def colder(results: Sequence[SimulationResult], metrics: Sequence[str]) -> dict[str, Interval]:
        out = real(results, metrics)
        return {
            name: replace(iv, low=iv.low - 3.0)
            if name.startswith("min_") and iv.low is not None
            else iv
            for name, iv in out.items()
        }

    monkeypatch.setattr(intervals, "summarise", colder)
    tailed = plan(request).steps[0]
    assert tailed.status == "planned", tailed.prediction.failures
    m = tailed.prediction.margins
    assert m.to_floor_k >= 0 and m.to_freezing_k >= planner_settings().layer_margin_k
    assert tailed.delivery != plain.delivery
