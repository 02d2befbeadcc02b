"""The spreads table (data/spreads.toml) and the prediction intervals propagated from it.

Every spread is sourced and acts only where its input exists; a quantile maps into the
spread's range; varying a case changes exactly the named input; the design is a Latin
hypercube and deterministic for its seed; the intervals are ordered and reproducible.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cryoderm.data import load_table
from cryoderm.physics.case import (
    Case,
    ColdAirPhase,
    ContactPhase,
    Freezing,
    Ln2VapourPhase,
    Perfusion,
)
from cryoderm.physics.errors import InvalidInput
from cryoderm.physics.exposures import applicator_for, cold_air_heat_transfer_w_m2k, ln2_jet
from cryoderm.physics.intervals import design, prediction_intervals, summarise, varied_cases
from cryoderm.physics.perfusion import resolve
from cryoderm.physics.spreads import spread, spreads, spreads_for, thickness_quantile, vary
from cryoderm.physics.zones import tissue_for_zone


def forehead_case(*phases, model: str = "local-cold") -> Case:
    return Case(
        tissue=tissue_for_zone("forehead", sex="female"),
        phases=phases or (ColdAirPhase(gas_temp_c=-30.0, air_speed_m_s=4.4, duration_s=120.0),),
        perfusion=Perfusion(model=model),
        freezing=Freezing(enabled=True),
    )


def test_every_spread_is_sourced_and_has_a_rule() -> None:
    table = load_table("spreads")["parameter"]
    assert [s.name for s in spreads()] == list(table)
    for entry in spreads():
        assert entry.source and entry.evidence in {"S", "D", "I", "A"}, entry.name
        assert entry.mode in {"factor", "value"} and entry.distribution in {
            "cohort",
            "uniform",
            "log-uniform",
        }


def test_a_spread_acts_only_where_its_input_exists() -> None:
    names = {s.name for s in spreads_for(forehead_case())}
    assert {"cold_air_heat_transfer", "local_cold_scale", "deep_thickness"} <= names
    assert "contact_conductance" not in names and "ln2_gas_temperature" not in names
    constant = {s.name for s in spreads_for(forehead_case(model="constant"))}
    assert "local_cold_scale" not in constant and "local_cold_floor" not in constant
    contact = forehead_case(ContactPhase("stainless-steel", 4.0, 60.0))
    assert "contact_conductance" in {s.name for s in spreads_for(contact)}


@pytest.mark.parametrize("name", ["local_cold_scale", "contact_conductance", "ln2_heat_transfer"])
def test_a_quantile_maps_into_the_tabled_range(name: str) -> None:
    row = load_table("spreads")["parameter"][name]
    case = forehead_case()
    values = [spread(name).value(case, u) for u in (0.0, 0.3, 0.7, 1.0)]
    assert values == sorted(values)
    assert values[0] == pytest.approx(row["low"]) and values[-1] == pytest.approx(row["high"])


def test_a_quantile_outside_0_to_1_is_refused_with_the_field_named() -> None:
    with pytest.raises(InvalidInput, match=r"spreads\.fat_thickness"):
        spread("fat_thickness").value(forehead_case(), 1.5)
    with pytest.raises(InvalidInput, match="one of"):
        spread("no-such-input")


def test_thickness_spread_is_the_cohort_rule_within_its_bounds() -> None:
    cohort = load_table("cohort")
    u = np.linspace(0.0, 1.0, 11)
    fat = thickness_quantile("fat", 2.0, cohort["fat"]["cv"]["value"], u)
    assert np.all(np.diff(fat) >= 0)
    assert fat[0] >= cohort["fat"]["min_mm"]["value"]
    # The median sits a little above the mean: the 0.3 mm floor cuts the lower tail.
    assert 2.0 <= fat[5] <= 2.2


def test_varying_a_case_changes_exactly_the_named_input() -> None:
    case = forehead_case()
    varied = vary(case, {"dermis_thickness": 1.4, "deep_thickness": 12.0})
    before = {layer.name: layer.thickness_mm for layer in case.tissue.layers}
    after = {layer.name: layer.thickness_mm for layer in varied.tissue.layers}
    assert after["dermis"] == 1.4 and after["bone"] == 12.0
    assert after["epidermis"] == before["epidermis"] and after["fat"] == before["fat"]
    assert varied.phases == case.phases and varied.perfusion == case.perfusion


def test_the_local_cold_factor_scales_the_zones_own_law() -> None:
    case = forehead_case()
    zone_scale = resolve(case.perfusion, "forehead").scale_k
    varied = vary(case, {"local_cold_scale": 1.2})
    assert varied.perfusion.scale_k == pytest.approx(1.2 * zone_scale)


def test_device_factors_scale_the_heat_transfer_the_engine_uses() -> None:
    cold = forehead_case()
    (phase,) = vary(cold, {"cold_air_heat_transfer": 1.5}).phases
    assert isinstance(phase, ColdAirPhase)
    assert cold_air_heat_transfer_w_m2k(phase.air_speed_m_s) == pytest.approx(
        1.5 * cold_air_heat_transfer_w_m2k(4.4)
    )
    contact = forehead_case(ContactPhase("stainless-steel", 4.0, 60.0))
    (pressed,) = vary(contact, {"contact_conductance": 0.5}).phases
    assert isinstance(pressed, ContactPhase)
    nominal = applicator_for(ContactPhase("stainless-steel", 4.0, 60.0), "p")
    assert pressed.contact_conductance_w_m2k == pytest.approx(
        0.5 * nominal.contact_conductance_w_m2k
    )
    wand = forehead_case(Ln2VapourPhase(15.0, 4.0, 0.8, 60.0))
    (swept,) = vary(wand, {"ln2_heat_transfer": 2.0}).phases
    assert isinstance(swept, Ln2VapourPhase)
    assert swept.heat_transfer_w_m2k == pytest.approx(2.0 * ln2_jet(15.0)[1])


def test_the_design_is_a_deterministic_latin_hypercube() -> None:
    points = design(3, 8, seed=7)
    assert np.array_equal(points, design(3, 8, seed=7))
    assert not np.array_equal(points, design(3, 8, seed=8))
    for column in points.T:
        # One point in each of the 8 equal-probability strata of every input.
        assert sorted(np.floor(column * 8).astype(int)) == list(range(8))
    with pytest.raises(InvalidInput, match="samples"):
        design(3, 1)


def test_intervals_are_ordered_reproducible_and_bracket_the_spread() -> None:
    case = forehead_case()
    first, again = (prediction_intervals([case], samples=8)[0] for _ in range(2))
    assert first.metrics == again.metrics and first.failed == 0
    minimum = first.metrics["min_surface_temp_c"]
    assert minimum.low is not None and minimum.high is not None and minimum.median is not None
    assert minimum.low <= minimum.median <= minimum.high
    assert minimum.high - minimum.low > 1.0  # the sourced spreads matter by kelvins here
    _, cases = varied_cases(case, 8)
    assert len({c.tissue for c in cases}) == 8


def test_a_freeze_risk_that_never_comes_is_never_in_every_percentile() -> None:
    mild = forehead_case(ColdAirPhase(gas_temp_c=10.0, air_speed_m_s=1.0, duration_s=30.0))
    (pi,) = prediction_intervals([mild], samples=4)
    assert pi.metrics["freeze_risk_time_s"].to_json_dict() == {
        "p05": None,
        "p50": None,
        "p95": None,
    }
    assert summarise([dataclasses.replace(r, status="failed") for r in pi.results]) == {}
