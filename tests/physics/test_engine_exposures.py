"""Exposure modalities, inputs and outcomes of the engine's public API."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import cryoderm
from cryoderm.data import load_table
from cryoderm.physics import exposures, solver
from cryoderm.physics.case import (
    AmbientPhase,
    Case,
    ColdAirPhase,
    ContactPhase,
    ConvectivePhase,
    Freezing,
    Layer,
    Ln2VapourPhase,
    Output,
    Probe,
    Tissue,
    UniformInitial,
)
from cryoderm.physics.errors import InvalidInput

SKIN = Tissue(layers=(Layer("skin", 20.0, 0.37, 1109, 3391),), core_temp_c=33.0)
CHEEK = Tissue(
    layers=(
        Layer("epidermis", 0.1, 0.24, 1200, 3590),
        Layer("dermis", 1.0, 0.45, 1200, 3300, 1.25e-3, 368.0),
        Layer("fat", 4.0, 0.21, 911, 2348, 5.0e-4),
        Layer("muscle", 6.0, 0.49, 1090, 3421, 6.7e-4, 992.0),
    )
)
SURFACE = Output(sample_every_s=1.0, probes=(Probe("surface", 0.0),))


def surface(case: Case) -> np.ndarray:
    result = cryoderm.simulate(case)
    assert result.ok, result.message
    return result.probes["surface"]


def test_steel_contact_starts_at_the_effusivity_contact_temperature() -> None:
    # Two semi-infinite bodies in perfect contact: T_c = (e_s T_s + e_a T_a) / (e_s + e_a).
    steel = ContactPhase(
        applicator="stainless-steel",
        applicator_temp_c=-18.0,
        duration_s=5.0,
        thickness_mm=50.0,
        contact_conductance_w_m2k=1e6,
    )
    # The exact solution is of two linear bodies: the skin without freezing (with it, the
    # latent heat holds the skin near its freezing point instead).
    case = Case(
        tissue=SKIN,
        phases=(steel,),
        initial=UniformInitial(33.0),
        output=SURFACE,
        freezing=Freezing(enabled=False),
    )
    e_skin = math.sqrt(0.37 * 1109 * 3391)
    e_steel = math.sqrt(14.9 * 7900 * 477)
    contact = (e_skin * 33.0 + e_steel * -18.0) / (e_skin + e_steel)
    assert surface(case)[1:] == pytest.approx(contact, abs=0.3)


def test_ice_holds_the_skin_warmer_than_steel_from_the_freezer() -> None:
    def after(applicator: str) -> float:
        phase = ContactPhase(applicator=applicator, applicator_temp_c=-18.0, duration_s=30.0)
        return float(surface(Case(tissue=CHEEK, phases=(phase,), output=SURFACE)).min())

    assert after("ice") > after("stainless-steel") + 5.0


def test_a_finite_applicator_warms_up_and_the_skin_with_it() -> None:
    thin = ContactPhase(
        applicator="aluminium", applicator_temp_c=0.0, duration_s=120.0, thickness_mm=1.0
    )
    series = surface(Case(tissue=CHEEK, phases=(thin,), output=SURFACE))
    assert series[-1] > series[2] + 5.0


def test_a_sweep_without_gaps_is_a_stationary_jet() -> None:
    gas, h = exposures.ln2_jet(10.0)
    sweep = Ln2VapourPhase(distance_cm=10.0, sweep_period_s=2.0, dwell_s=2.0, duration_s=20.0)
    still = ConvectivePhase(gas_temp_c=gas, heat_transfer_w_m2k=h, duration_s=20.0)
    swept = surface(Case(tissue=CHEEK, phases=(sweep,), output=SURFACE))
    stationary = surface(Case(tissue=CHEEK, phases=(still,), output=SURFACE))
    # Same exposure, but the sweep restarts its steps at every pass, so the two differ by
    # discretisation error (at most about 0.01 K each under this -69 C jet).
    assert swept == pytest.approx(stationary, abs=0.02)


def test_between_passes_the_skin_rewarms_in_room_air() -> None:
    sweep = Ln2VapourPhase(distance_cm=10.0, sweep_period_s=4.0, dwell_s=1.0, duration_s=8.0)
    series = surface(Case(tissue=CHEEK, phases=(sweep,), output=SURFACE))
    assert series[1] < series[0]  # the jet passes
    assert series[4] > series[1]  # room air between passes
    assert series[5] < series[4]  # the next pass


def test_ln2_jet_defaults_are_declared_device_assumptions() -> None:
    table = load_table("exposures")["ln2_vapour"]
    assert table["status"] == "assumption"
    assert "ASSUMPTION" in table["source"]


def test_cold_air_adds_radiation_to_facial_forced_convection() -> None:
    h_c = 15.0 * 4.4**0.62
    air = ColdAirPhase(gas_temp_c=-30.0, air_speed_m_s=4.4, duration_s=60.0)
    convection_only = ConvectivePhase(gas_temp_c=-30.0, heat_transfer_w_m2k=h_c, duration_s=60.0)
    # Linearised radiation at the warmest surface (34 C) bounds the exact radiation above.
    h_r_max = 4 * 0.98 * 5.670374419e-8 * (34.0 + 273.15) ** 3
    bound = ConvectivePhase(gas_temp_c=-30.0, heat_transfer_w_m2k=h_c + h_r_max, duration_s=60.0)
    with_air, without, bounded = (
        surface(Case(tissue=CHEEK, phases=(p,), output=SURFACE))
        for p in (air, convection_only, bound)
    )
    assert np.all(with_air[1:] < without[1:])
    assert np.all(with_air[1:] > bounded[1:])


def test_invalid_cases_name_the_field_value_unit_and_what_is_allowed() -> None:
    # A case built in Python is checked as it is built, against data/bounds.toml.
    with pytest.raises(InvalidInput) as caught:
        ConvectivePhase(gas_temp_c=-30.0, heat_transfer_w_m2k=50.0, duration_s=-5.0)
    message = str(caught.value)
    assert "phase.duration_s" in message and "-5.0" in message and " s:" in message
    with pytest.raises(InvalidInput, match=r"output\.probe\[1\]\.depth_mm"):
        Case(
            tissue=CHEEK,
            phases=(AmbientPhase(duration_s=10.0),),
            output=Output(probes=(Probe("deep", 50.0),)),
        )
    with pytest.raises(InvalidInput, match=r"granite.*stainless-steel"):
        ContactPhase(applicator="granite", applicator_temp_c=0.0, duration_s=5.0)


def test_a_failed_run_is_data_without_nan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(solver, "MAX_ITERATIONS", 1)
    freezing = Case(
        tissue=CHEEK,
        phases=(ConvectivePhase(gas_temp_c=-100.0, heat_transfer_w_m2k=200.0, duration_s=20.0),),
        freezing=Freezing(enabled=True),
    )
    result = cryoderm.simulate(freezing)
    assert result.status == "failed"
    assert "converge" in result.message
    json.dumps(result.to_json_dict(), allow_nan=False)


def test_freeze_risk_is_the_first_time_tissue_reaches_its_freezing_point() -> None:
    steel = ContactPhase(applicator="stainless-steel", applicator_temp_c=-18.0, duration_s=30.0)
    result = cryoderm.simulate(Case(tissue=CHEEK, phases=(steel,), output=SURFACE))
    assert result.ok
    first = result.safety["freeze_risk_time_s"]
    assert first is not None and 0.0 < first < 2.0
    assert result.safety["margin_to_frostnip_limit_k"] < 0.0
    mild = cryoderm.simulate(Case(tissue=CHEEK, phases=(AmbientPhase(duration_s=30.0),)))
    assert mild.safety["freeze_risk_time_s"] is None


def test_metrics_follow_the_documented_names() -> None:
    result = cryoderm.simulate(Case(tissue=CHEEK, phases=(ConvectivePhase(-30.0, 60.0, 120.0),)))
    metrics = result.metrics
    for layer in ("epidermis", "dermis", "fat", "muscle"):
        assert f"min_{layer}_temp_c" in metrics
    for label in ("15", "13_6", "10", "4", "0"):
        assert f"surface_time_below_{label}c_s" in metrics
        assert f"basal_time_below_{label}c_s" in metrics
    assert metrics["surface_time_below_15c_s"] >= metrics["surface_time_below_10c_s"]
    assert metrics["surface_cold_dose_k_s"] > 0.0
    assert metrics["min_surface_temp_c"] <= metrics["min_dermis_temp_c"]
