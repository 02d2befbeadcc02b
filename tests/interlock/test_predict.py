"""The forecast: a first-order fit to the recent readings, checked against exact solutions
and against the thermal engine's own surface curve."""

from __future__ import annotations

import math
import random

import pytest

from cryoderm.interlock.predict import forecast


def exponential(t, start=30.0, target=-10.0, tau=12.0):
    return target + (start - target) * math.exp(-t / tau)


def test_an_exact_first_order_response_is_forecast_exactly():
    times = [10.0 + 0.1 * i for i in range(21)]
    result = forecast(times, [exponential(t) for t in times], horizon_s=5.0, floor_temp_c=2.0)
    assert result.horizon_temp_c == pytest.approx(exponential(17.0), abs=0.02)
    assert result.relax_rate_per_s == pytest.approx(-1 / 12.0, rel=0.01)
    assert result.equilibrium_temp_c == pytest.approx(-10.0, abs=0.2)
    crossing = 12.0 * math.log((30.0 + 10.0) / (2.0 + 10.0))  # exact time of 2 C
    assert result.floor_crossing_in_s == pytest.approx(crossing - 12.0, abs=0.05)


def test_a_flat_or_warming_series_never_forecasts_a_floor_crossing():
    times = [0.1 * i for i in range(20)]
    assert forecast(times, [20.0] * 20, horizon_s=5.0, floor_temp_c=2.0).floor_crossing_in_s is None
    warming = forecast(times, [10.0 + 0.5 * t for t in times], horizon_s=5.0, floor_temp_c=2.0)
    assert warming.floor_crossing_in_s is None and warming.horizon_temp_c > 10.0


def test_a_straight_decline_is_extrapolated_as_a_line():
    times = [0.1 * i for i in range(20)]
    result = forecast(times, [8.0 - 1.0 * t for t in times], horizon_s=5.0, floor_temp_c=2.0)
    assert result.floor_crossing_in_s == pytest.approx(8.0 - 1.9 - 2.0, abs=0.05)


def test_sensor_noise_of_a_tenth_of_a_degree_costs_a_few_kelvin_at_five_seconds():
    # A 2 s window is short: noise of 0.1 C moves the fitted rate, and the error grows with
    # the horizon. This is why the warning must persist before it sounds (warning_persist_s).
    rng = random.Random(7)
    times = [10.0 + 0.1 * i for i in range(21)]
    errors = []
    for _ in range(50):
        temps = [exponential(t) + rng.gauss(0.0, 0.1) for t in times]
        result = forecast(times, temps, horizon_s=5.0, floor_temp_c=2.0)
        errors.append(abs(result.horizon_temp_c - exponential(17.0)))
    errors.sort()
    assert errors[25] < 2.0  # median
    assert errors[44] < 3.5  # 90th percentile


def test_too_few_readings_give_no_forecast():
    assert forecast([0.0, 0.1], [30.0, 29.0], horizon_s=5.0, floor_temp_c=2.0) is None


@pytest.mark.parametrize(
    ("modality", "lingering"), [("cold-air", False), ("contact", False), ("ln2-vapour", True)]
)
def test_the_forecast_follows_the_engine_five_seconds_ahead_under_a_steady_exposure(
    modality, lingering
):
    # The reduced model against the thermal engine itself (the virtual face on the plan's
    # case): a steady exposure, 2 s of 10 Hz readings, a forecast 5 s ahead. A lingering
    # LN2 wand is a stationary jet, the steadiest and fastest of the three.
    from cryoderm.interlock.face import EngineFace
    from cryoderm.interlock.simulation import planned_step

    _, step = planned_step("cheek", modality, None)
    face = EngineFace(step.case)
    if lingering:
        face.linger(0.0)
    for t0 in (10.0, 20.0):
        times = [t0 - 2.0 + 0.1 * i for i in range(21)]
        result = forecast(times, [face.temp_c(t) for t in times], horizon_s=5.0, floor_temp_c=2.0)
        assert result.horizon_temp_c == pytest.approx(face.temp_c(t0 + 5.0), abs=0.3)
