"""Fitting: known inputs are recovered from traces simulated with noise, within their 95 %
intervals; the posterior agrees; the published whole-body-cryotherapy skin temperatures the
validation harness calibrates against (Costello 2012 thigh, Costello 2014 knee) give the
harness's chamber h; bad inputs are refused with the field named."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from cryoderm.physics.engine import simulate
from cryoderm.research.errors import InvalidStudy
from cryoderm.research.fitting import Experiment, fit, fit_parameter
from cryoderm.research.traces import Trace
from research.research_cases import convective_case

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the validation harness lives beside src/

NOISE_C = 0.3  # a thermocouple's typical noise (assumption for the synthetic traces)


def noisy_traces(case, seed: int = 1) -> list[Trace]:
    result = simulate(case)
    rng = np.random.default_rng(seed)
    times = result.time_s[::3]
    return [
        Trace(
            probe,
            times,
            np.interp(times, result.time_s, result.probes[probe])
            + rng.normal(0.0, NOISE_C, len(times)),
            NOISE_C,
        )
        for probe in ("surface", "dermis-fat")
    ]


def test_h_and_fat_thickness_are_recovered_within_their_intervals():
    truth = {"h": 75.0, "fat": 6.0}
    measured_case = convective_case(h_w_m2k=truth["h"])
    from cryoderm.research.keys import apply, parse_key

    fat = parse_key("tissue.layer[fat].thickness_mm")
    measured_case = apply(measured_case, [(fat, "set", 6.0)])
    start = convective_case(h_w_m2k=50.0)  # the zone's 4 mm of fat, a guessed h
    result = fit(start, noisy_traces(measured_case), ["h", "fat"])
    for name, value in truth.items():
        estimate = result[name]
        assert estimate.low_95 <= value <= estimate.high_95, estimate
        assert estimate.value == pytest.approx(value, rel=0.05)
    assert result.rms_c == pytest.approx(NOISE_C, rel=0.25)


def test_the_posterior_brackets_the_truth_and_the_least_squares_estimate():
    truth = convective_case(h_w_m2k=75.0)
    result = fit(
        convective_case(h_w_m2k=40.0),
        noisy_traces(truth, seed=4),
        ["h"],
        posterior=True,
        walkers=8,
        steps=60,
    )
    h = result["h"]
    assert h.posterior_low_95 <= 75.0 <= h.posterior_high_95
    assert h.posterior_low_95 <= h.value <= h.posterior_high_95
    assert 0.2 < result.acceptance < 0.9
    assert result.chain.shape == (8 * 30, 1)


def test_perfusion_is_fitted_as_a_factor_and_contact_from_the_material_default():
    case = convective_case()
    perfusion = fit_parameter(case, "perfusion")
    assert (perfusion.key, perfusion.mode, perfusion.start) == (
        "tissue.layer[*].perfusion_per_s",
        "scale",
        1.0,
    )
    deep = fit_parameter(case, "deep")
    assert deep.key == "tissue.layer[4].thickness_mm"
    with pytest.raises(InvalidStudy, match="no contact phase"):
        fit_parameter(case, "contact")


def test_the_harness_chamber_h_is_found_from_the_costello_skin_temperatures():
    from validation.runner import run

    from validation import model as m

    thigh, knee = m.target("costello-2012-wbc-thigh"), m.target("costello-2014-wbc-knee")
    exit_s = thigh["model"]["duration_s"]

    def chamber(fat_mm: float):
        phase = m.convective(thigh["model"]["gas_temp_c"], 9.0, exit_s)
        return m.build(m.limb_tissue(fat_mm), [phase], sample_every_s=5.0)

    # The harness weights each dataset by its tolerance; so do these traces' SDs.
    thigh_drop = Trace(
        "surface",
        np.array([exit_s]),
        np.array([thigh["value"]]),
        thigh["tolerance"],
        change_from_start=True,
    )
    knee_end = Trace("surface", np.array([exit_s]), np.array([knee["value"]]), knee["tolerance"])
    result = fit(
        chamber(thigh["model"]["fat_mm"]),
        [thigh_drop],
        ["h"],
        more=[Experiment(chamber(knee["model"]["fat_mm"]), (knee_end,))],
    )
    outcome = run(["costello-2014-wbc-knee"])[0]
    harness_h = next(c.model for c in outcome.checks if c.label.startswith("chamber h fitted"))
    h = result["h"]
    assert h.value == pytest.approx(harness_h, abs=0.2)
    assert h.low_95 < harness_h < h.high_95


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        (["h", "h"], "each input once"),
        (["phase[9].gas_temp_c"], "has 2 phase entries"),
        ([], "at least one"),
    ],
)
def test_bad_fit_requests_are_refused(parameters, message):
    case = convective_case()
    with pytest.raises(InvalidStudy, match=message):
        fit(case, noisy_traces(case), parameters)


def test_a_trace_beyond_the_case_is_refused():
    case = convective_case()
    late = Trace("surface", np.array([10.0, 500.0]), np.array([20.0, 20.0]))
    with pytest.raises(InvalidStudy, match=r"within the case's 0 to 180 s"):
        fit(case, [late], ["h"])
