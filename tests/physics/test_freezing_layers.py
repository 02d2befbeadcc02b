"""Freezing per layer (physics/freezing.py, data/freezing.toml): each tissue's own latent heat
and frozen properties, checked against the Neumann two-phase solution with those properties
and against an independent fine-grid solver for a layered case; freezing on by default
wherever a heat source is colder than the freezing point."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import erf, erfc

import cryoderm
from cryoderm.data import load_table
from cryoderm.physics import freezing
from cryoderm.physics.case import (
    Case,
    ConvectivePhase,
    Freezing,
    Layer,
    Ln2VapourPhase,
    Output,
    Perfusion,
    Probe,
    Tissue,
    UniformInitial,
)
from cryoderm.physics.zones import tissue_for_zone

TF, T0, V = -0.55, -20.0, 34.0


def neumann(layer: freezing.LayerFreezing, k: float, c: float, rho: float):
    """The two-phase Neumann solution (Carslaw1959, section 11.2) for a body of liquid
    conductivity k and specific heat c, frozen ones from ``layer``: T(x, t)."""
    k1, c1, k2, c2 = layer.frozen_conductivity_w_mk, layer.frozen_specific_heat_j_kgk, k, c
    a1, a2 = k1 / (rho * c1), k2 / (rho * c2)
    nu = math.sqrt(a1 / a2)
    latent = layer.latent_heat_j_kg

    def balance(lam: float) -> float:
        frozen = k1 * (TF - T0) * math.exp(-(lam**2)) / (math.sqrt(a1) * erf(lam))
        liquid = k2 * (V - TF) * math.exp(-((lam * nu) ** 2)) / (math.sqrt(a2) * erfc(lam * nu))
        return frozen - liquid - lam * latent * rho * math.sqrt(math.pi * a1)

    lam = brentq(balance, 1e-6, 5.0)

    def temp(x: float, t: float) -> float:
        front = 2 * lam * math.sqrt(a1 * t)
        if x <= front:
            return T0 + (TF - T0) * erf(x / (2 * math.sqrt(a1 * t))) / erf(lam)
        return V - (V - TF) * erfc(x / (2 * math.sqrt(a2 * t))) / erfc(lam * nu)

    return temp


def _slab(name: str) -> tuple[Case, Layer]:
    material = load_table("tissue")["material"][name]
    layer = Layer(
        name,
        40.0,
        material["conductivity_w_mk"]["value"],
        material["density_kg_m3"]["value"],
        material["specific_heat_j_kgk"]["value"],
        0.0,
        0.0,
    )
    case = Case(
        tissue=Tissue(layers=(layer,), core_temp_c=V, arterial_temp_c=37.0),
        phases=(ConvectivePhase(gas_temp_c=T0, heat_transfer_w_m2k=1e7, duration_s=120.0),),
        perfusion=Perfusion(model="constant"),
        freezing=Freezing(freeze_point_c=TF),  # freezing left to the engine (on: -20 C)
        initial=UniformInitial(V),
        output=Output(
            sample_every_s=1.0,
            probes=(Probe("0.5mm", 0.5), Probe("1mm", 1.0), Probe("2mm", 2.0)),
        ),
    )
    return case, layer


@pytest.mark.parametrize("name", ["dermis", "fat", "muscle"])
def test_each_layer_meets_the_neumann_solution_with_its_own_properties(name: str) -> None:
    case, layer = _slab(name)
    frozen = freezing.layer_freezing(layer, case.freezing)
    water = load_table("freezing")["tissue"][name]["water_fraction"]["value"]
    assert frozen.latent_heat_j_kg == pytest.approx(water * 333600.0)
    exact = neumann(frozen, layer.conductivity_w_mk, layer.specific_heat_j_kgk, layer.density_kg_m3)
    result = cryoderm.simulate(case)
    assert result.ok, result.message
    # The tolerance of the shared Neumann case (tests/validation_cases: a mushy zone of
    # 0.5 K is allowed), from 30 s on.
    for probe, depth in (("0.5mm", 0.5e-3), ("1mm", 1e-3), ("2mm", 2e-3)):
        for time_s in (30.0, 60.0, 120.0):
            got = float(result.probes[probe][int(time_s)])
            assert got == pytest.approx(exact(depth, time_s), abs=0.3), (probe, time_s)


def test_frozen_fat_stays_a_poor_conductor_and_releases_little_latent_heat() -> None:
    cheek = tissue_for_zone("cheek")
    by_name = {layer.name: freezing.layer_freezing(layer, Freezing()) for layer in cheek.layers}
    assert by_name["fat"].frozen_conductivity_w_mk < 0.3
    assert by_name["fat"].latent_heat_j_kg < 0.25 * 333600.0
    assert by_name["dermis"].frozen_conductivity_w_mk > 2 * by_name["fat"].frozen_conductivity_w_mk
    # A case's stated value still holds for every layer.
    stated = Freezing(latent_heat_j_kg=100000.0)
    assert {freezing.layer_freezing(layer, stated).latent_heat_j_kg for layer in cheek.layers} == {
        100000.0
    }


def test_freezing_is_on_by_default_where_tissue_can_reach_its_freezing_point() -> None:
    forehead = tissue_for_zone("forehead")
    wand = Ln2VapourPhase(5.0, 4.0, 0.8, 120.0)
    auto = Case(tissue=forehead, phases=(wand,))
    linear = dataclasses.replace(auto, freezing=Freezing(enabled=False))
    forced = dataclasses.replace(auto, freezing=Freezing(enabled=True))
    a, lin, on = (cryoderm.simulate(c) for c in (auto, linear, forced))
    # The LN2 wand at 5 cm: the linear model's surface falls far below any tissue's
    # freezing plateau; with each layer's latent heat it stays within a few kelvin of it.
    assert lin.safety["min_skin_temp_c"] < -15.0
    assert a.safety["min_skin_temp_c"] == on.safety["min_skin_temp_c"] > -10.0
    # No heat source below the freezing point: the linear path, exactly.
    mild = Case(
        tissue=forehead,
        phases=(ConvectivePhase(gas_temp_c=5.0, heat_transfer_w_m2k=50.0, duration_s=60.0),),
    )
    assert not freezing.decide(mild)
    cool = dataclasses.replace(mild, freezing=Freezing(enabled=False))
    assert np.array_equal(
        cryoderm.simulate(mild).probes["surface"], cryoderm.simulate(cool).probes["surface"]
    )
    # A batch gives each case what simulate gives it.
    many = cryoderm.simulate_many([auto, mild, linear])
    assert many[0].safety["min_skin_temp_c"] == a.safety["min_skin_temp_c"]
    assert many[2].safety["min_skin_temp_c"] == lin.safety["min_skin_temp_c"]
