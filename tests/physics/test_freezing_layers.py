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
    Numerics,
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


LAYERED = (
    Layer("epidermis", 0.1, 0.24, 1200.0, 3590.0, 0.0, 0.0),
    Layer("dermis", 1.0, 0.45, 1200.0, 3300.0, 0.0, 0.0),
    Layer("fat", 3.0, 0.21, 911.0, 2348.0, 0.0, 0.0),
    Layer("muscle", 6.0, 0.49, 1090.0, 3421.0, 0.0, 0.0),
)
GAS_C, H_W_M2K, CORE_C = -60.0, 200.0, 34.0


def _layered_case(space: float = 1.0, time: float = 1.0) -> Case:
    return Case(
        tissue=Tissue(layers=LAYERED, core_temp_c=CORE_C, arterial_temp_c=37.0),
        phases=(ConvectivePhase(gas_temp_c=GAS_C, heat_transfer_w_m2k=H_W_M2K, duration_s=60.0),),
        perfusion=Perfusion(model="constant"),
        initial=UniformInitial(CORE_C),
        output=Output(sample_every_s=1.0, probes=(Probe("surface", 0.0), Probe("1mm", 1.0))),
        numerics=Numerics(space_refinement=space, time_refinement=time),
    )


def _reference_surface(cells_per_mm: int, times: tuple[float, ...]) -> list[float]:
    """An independent solver: cell-centred finite volumes on a uniform grid (harmonic face
    conductances), the enthalpy of each cell integrated by scipy's BDF to rtol 1e-7 (method
    of lines), each layer's frozen properties from freezing.layer_freezing; the surface
    temperature by the Robin condition through the first half cell."""
    from scipy.integrate import solve_ivp
    from scipy.sparse import diags_array

    edges = np.cumsum([0.0] + [layer.thickness_mm for layer in LAYERED])
    n = round(edges[-1] * cells_per_mm)
    dx = edges[-1] * 1e-3 / n
    centres_mm = (np.arange(n) + 0.5) * dx * 1e3
    which = np.minimum(np.searchsorted(edges, centres_mm, side="right") - 1, len(LAYERED) - 1)
    frozen = [freezing.layer_freezing(layer, Freezing()) for layer in LAYERED]
    rho = np.array([LAYERED[i].density_kg_m3 for i in which])
    cl = rho * np.array([LAYERED[i].specific_heat_j_kgk for i in which])
    cs = rho * np.array([frozen[i].frozen_specific_heat_j_kgk for i in which])
    lat = rho * np.array([frozen[i].latent_heat_j_kg for i in which])
    kl = np.array([LAYERED[i].conductivity_w_mk for i in which])
    ks = np.array([frozen[i].frozen_conductivity_w_mk for i in which])
    mush = float(load_table("freezing")["numerics"]["mushy_range_k"]["value"])
    cm = 0.5 * (cl + cs) + lat / mush
    ts = TF - mush

    def temperature(e: np.ndarray) -> np.ndarray:
        return np.where(
            e <= 0.0, ts + e / cs, np.where(e < cm * mush, ts + e / cm, TF + (e - cm * mush) / cl)
        )

    def conductivity(t: np.ndarray) -> np.ndarray:
        phi = np.clip((TF - t) / mush, 0.0, 1.0)
        return (1 - phi) * kl + phi * ks

    def rhs(_time: float, e: np.ndarray) -> np.ndarray:
        t = temperature(e)
        k = conductivity(t)
        flow = np.empty(n + 1)  # W/m2 downwards through each face
        flow[1:-1] = 2.0 / (dx / k[:-1] + dx / k[1:]) * (t[:-1] - t[1:])
        flow[0] = (GAS_C - t[0]) / (1.0 / H_W_M2K + 0.5 * dx / k[0])
        flow[-1] = (t[-1] - CORE_C) * 2.0 * k[-1] / dx
        return (flow[:-1] - flow[1:]) / dx

    start = cm * mush + cl * (CORE_C - TF)
    pattern = diags_array([1.0, 1.0, 1.0], offsets=[-1, 0, 1], shape=(n, n))
    solution = solve_ivp(
        rhs,
        (0.0, times[-1]),
        start,
        method="BDF",
        t_eval=times,
        rtol=1e-7,
        atol=1e-2 * float(cl.mean()),
        jac_sparsity=pattern,
    )
    out = []
    for column in solution.y.T:
        t = temperature(column)
        k0 = float(conductivity(t[:1])[0])
        out.append(float((t[0] * 2 * k0 / dx + H_W_M2K * GAS_C) / (2 * k0 / dx + H_W_M2K)))
    return out


def test_a_layered_case_meets_an_independent_fine_grid_solver() -> None:
    times = (20.0, 40.0, 60.0)
    reference = _reference_surface(20, times)
    # Refined in time (the freezing path is first order in time; space is converged at
    # its default), the engine meets the reference within both methods' own errors.
    refined = cryoderm.simulate(_layered_case(2.0, 8.0))
    assert refined.ok, refined.message
    assert refined.safety["max_frozen_depth_mm"] is not None  # freezing ran, by default
    got = [float(refined.probes["surface"][int(t)]) for t in times]
    assert got == pytest.approx(reference, abs=0.08)
    # At its default steps the error grows with the frozen depth: 0.34 K at 60 s here
    # (docs/physics.md section 5).
    default = cryoderm.simulate(_layered_case())
    got = [float(default.probes["surface"][int(t)]) for t in times]
    assert got == pytest.approx(reference, abs=0.4)


def test_the_layered_freezing_case_converges_at_first_order_in_time() -> None:
    # Backward Euler: first order in time; the space refinement is past convergence here.
    values = []
    for time_refinement in (2.0, 4.0, 8.0):
        result = cryoderm.simulate(_layered_case(2.0, time_refinement))
        assert result.ok, result.message
        values.append(np.array([result.probes[p][-1] for p in ("surface", "1mm")]))
    coarse = np.max(np.abs(values[0] - values[1]))
    fine = np.max(np.abs(values[1] - values[2]))
    order = math.log2(coarse / fine)
    assert 0.7 < order < 1.5, (coarse, fine, order)


def test_a_layer_may_state_its_own_water() -> None:
    from cryoderm.physics.casefile import case_to_toml, parse_case_text

    text = """
format = "cryoderm-case/1"
[tissue]
[[tissue.layer]]
name = "scar"
thickness_mm = 2.0
conductivity_w_mk = 0.4
density_kg_m3 = 1100.0
specific_heat_j_kgk = 3200.0
water_fraction = 0.5
[[tissue.layer]]
name = "deep"
thickness_mm = 10.0
conductivity_w_mk = 0.5
density_kg_m3 = 1050.0
specific_heat_j_kgk = 3600.0
[[phase]]
modality = "convective"
gas_temp_c = -40.0
heat_transfer_w_m2k = 100.0
duration_s = 30.0
"""
    case = parse_case_text(text)
    scar, deep = (freezing.layer_freezing(layer, case.freezing) for layer in case.tissue.layers)
    assert scar.latent_heat_j_kg == pytest.approx(0.5 * 333600.0)
    default = load_table("freezing")["defaults"]["water_fraction"]["value"]
    assert deep.latent_heat_j_kg == pytest.approx(default * 333600.0)
    assert parse_case_text(case_to_toml(case)) == case
    with pytest.raises(Exception, match=r"tissue.layer\[1\].water_fraction = 1.5"):
        parse_case_text(text.replace("water_fraction = 0.5", "water_fraction = 1.5"))
