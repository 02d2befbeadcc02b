"""Contact applicators as they are used (physics/applicators.py, docs/physics.md section 3):
ice at its melting point, packs by mass, melt water, barriers, moving applicators.

Independent references: the one-phase Stefan (Neumann) problem for a melting slab
(Carslaw1959, 11.2), the contact temperature of two semi-infinite bodies (Baehr2004), the
energy balance with the applicator's enthalpy included, observed orders of convergence."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import erf

import cryoderm
from cryoderm.physics import applicators, engine, exposures, solver
from cryoderm.physics.case import (
    AmbientPhase,
    Case,
    ContactPhase,
    Layer,
    Numerics,
    Output,
    Probe,
    Tissue,
    UniformInitial,
)
from cryoderm.physics.casefile import parse_case_text
from cryoderm.physics.errors import InvalidInput
from cryoderm.physics.freezing import mushy_range_k

CHEEK = Tissue(
    layers=(
        Layer("epidermis", 0.1, 0.24, 1200, 3590),
        Layer("dermis", 1.0, 0.45, 1200, 3300, 1.25e-3, 368.0),
        Layer("fat", 4.0, 0.21, 911, 2348, 5.0e-4),
        Layer("muscle", 6.0, 0.49, 1090, 3421, 6.7e-4, 992.0),
    )
)
SURFACE = Output(sample_every_s=5.0, probes=(Probe("surface", 0.0),))
WATER = {  # a slab of water at 0 C with the ice pack's size and contact
    "conductivity_w_mk": 0.6,
    "density_kg_m3": 920.0,
    "specific_heat_j_kgk": 4180.0,
    "thickness_mm": 20.0,
    "contact_conductance_w_m2k": 1000.0,
}


def run(case: Case) -> cryoderm.physics.results.SimulationResult:
    result = cryoderm.simulate(case)
    assert result.ok, result.message
    return result


def cheek_min(duration_s: float = 1200.0, **contact: object) -> float:
    phase = ContactPhase(duration_s=duration_s, **contact)  # type: ignore[arg-type]
    return float(run(Case(tissue=CHEEK, phases=(phase,), output=SURFACE)).probes["surface"].min())


# ---------------------------------------------------------------- the reported defect
def test_ice_at_its_melting_point_is_ice_not_water() -> None:
    # The defect: ice at 0 C gave exactly the numbers of a 0 C water slab (its melting range
    # lay below 0 C), and -0.1 C moved the minimum by 5 K. Ice at 0 C carries its latent heat.
    ice = cheek_min(applicator="ice", applicator_temp_c=0.0)
    water = cheek_min(applicator="custom", applicator_temp_c=0.0, **WATER)
    colder = cheek_min(applicator="ice", applicator_temp_c=-0.1)
    assert ice < water - 8.0
    assert abs(ice - colder) < 0.1  # a tenth of a kelvin colder ice: no jump


def test_ice_above_its_melting_point_is_refused_and_slush_needs_the_melting_point() -> None:
    with pytest.raises(InvalidInput) as caught:
        ContactPhase(applicator="ice", applicator_temp_c=2.0, duration_s=60.0)
    assert caught.value.field == "phase.applicator_temp_c"
    assert "melts at 0 °C" in str(caught.value)
    with pytest.raises(InvalidInput) as caught:
        ContactPhase(applicator="ice-water-bag", applicator_temp_c=-3.0, duration_s=60.0)
    assert caught.value.field == "phase.ice_fraction"
    # Melt water alone may be warmer.
    ContactPhase(applicator="ice", applicator_temp_c=2.0, ice_fraction=0.0, duration_s=60.0)


def test_a_pack_holds_the_skin_cold_until_its_ice_is_spent_then_the_skin_rewarms() -> None:
    # A small pack (50 g over 100 cm2, 5.4 mm) on the cheek through a wet contact: at 0 C it
    # can take its latent heat, m L / A = 1.67 MJ/m2, at about 1.5 kW/m2: about 18 min.
    latent = 0.05 * 333600.0 / 100e-4
    output = Output(sample_every_s=60.0, probes=(Probe("surface", 0.0),))

    def pack(melt_water: str) -> cryoderm.physics.results.SimulationResult:
        phase = ContactPhase(
            applicator="ice",
            applicator_temp_c=0.0,
            mass_kg=0.05,
            area_cm2=100.0,
            melt_water=melt_water,
            duration_s=1800.0,
        )
        return run(Case(tissue=CHEEK, phases=(phase,), output=output))

    mixed, drained = pack("mixes"), pack("drains")
    surface = mixed.probes["surface"]
    assert surface[3:16].max() < surface[3:16].min() + 0.5  # held while ice remains
    assert surface[-1] > surface[16] + 15.0  # then the melt water warms with the skin
    # Drained, the pack takes its latent heat and almost nothing more (the melt leaves at
    # 0 C): the energy into the applicator (minus the heat into the skin) is m L / A.
    assert -drained.metrics["energy_surface_j_m2"] == pytest.approx(latent, rel=0.02)


def test_a_pack_by_mass_is_the_pack_of_that_thickness() -> None:
    by_mass = cheek_min(
        300.0, applicator="crushed-ice-pack", applicator_temp_c=0.0, mass_kg=0.66, area_cm2=400.0
    )
    by_thickness = cheek_min(
        300.0, applicator="crushed-ice-pack", applicator_temp_c=0.0, thickness_mm=30.0
    )
    assert by_mass == pytest.approx(by_thickness, abs=1e-9)


def test_a_pack_by_mass_names_the_mass_when_the_pack_is_impossible() -> None:
    with pytest.raises(InvalidInput) as caught:
        ContactPhase(
            applicator="ice", applicator_temp_c=0.0, mass_kg=5.0, area_cm2=2.0, duration_s=60.0
        )
    assert caught.value.field == "phase.mass_kg"
    assert "mm thick" in caught.value.allowed
    with pytest.raises(InvalidInput) as caught:
        ContactPhase(applicator="ice", applicator_temp_c=0.0, mass_kg=0.5, duration_s=60.0)
    assert caught.value.field == "phase.mass_kg"
    assert "area_cm2 is missing" in caught.value.allowed


# ---------------------------------------------------------------- Stefan (Neumann)
def _wall_case(duration_s: float, refinement: float = 1.0, time: float = 1.0) -> Case:
    """Ice at its melting point against a wall held near 20 C: a thin, very conductive
    layer over a 20 C deep boundary, perfect contact. The melt stays (water layer)."""
    wall = Tissue(layers=(Layer("wall", 0.1, 10.0, 1000.0, 1000.0),), core_temp_c=20.0)
    phase = ContactPhase(
        applicator="ice",
        applicator_temp_c=0.0,
        melt_water="stays",
        contact_conductance_w_m2k=1e6,
        duration_s=duration_s,
    )
    return Case(
        tissue=wall,
        phases=(phase,),
        initial=UniformInitial(20.0),
        output=Output(sample_every_s=duration_s, probes=(Probe("surface", 0.0),)),
        numerics=Numerics(space_refinement=refinement, time_refinement=time),
    )


def stefan_heat_j_m2(time_s: float, wall_c: float = 20.0) -> float:
    """Heat taken by ice at its melting point from a face held at wall_c (one-phase Stefan
    problem, Neumann's solution): s = 2 lam sqrt(alpha t), lam e^lam^2 erf(lam) = St/sqrt(pi),
    Q = 2 k dT sqrt(t) / (erf(lam) sqrt(pi alpha))."""
    k, rho, c, latent = 0.6, 920.0, 4180.0, 333600.0
    alpha = k / (rho * c)
    stefan = c * wall_c / latent
    lam = brentq(lambda x: x * math.exp(x * x) * erf(x) - stefan / math.sqrt(math.pi), 1e-6, 3)
    return 2.0 * k * wall_c * math.sqrt(time_s) / (erf(lam) * math.sqrt(math.pi * alpha))


def test_a_melting_slab_takes_the_heat_of_neumanns_solution() -> None:
    # The enthalpy method converges at first order to it from above (next test): 2 % at 8x.
    cases = [_wall_case(t, refinement=8.0, time=4.0) for t in (120.0, 300.0)]
    for case, result in zip(cases, cryoderm.simulate_many(cases), strict=True):
        assert result.ok, result.message
        taken = -result.metrics["energy_surface_j_m2"]
        exact = stefan_heat_j_m2(case.duration_s)
        assert taken == pytest.approx(exact, rel=0.03)


# ---------------------------------------------------------------- energy with the applicator
def _final_applicator(case: Case) -> tuple[np.ndarray, float]:
    """(the applicator's node temperatures at the end, heat into the skin J/m2) of a
    single-phase contact case, run through the solver directly."""
    template = engine._shared_template(case)
    assert template.setting is not None
    _, boundaries, segments = engine._member(case, template)
    surface = [value for segment in segments for value in segment[3:7]]
    prepared = solver.prepare_batch(
        template.setting,
        [solver.PartInputs(boundaries, 1, surface, [segments])],
        case.output.sample_every_s,
        template.time_refinement,
        template.applicator_cells,
        np.asarray([0.0]),
        15.0,
    )
    (out,) = solver.execute(prepared, fresh=False)
    return prepared.nodes.t[: prepared.na, 0].copy(), float(out.accumulators[0, 1])


@pytest.mark.parametrize("melt_water", ["stays", "mixes", "drains"])
def test_energy_balance_closes_with_the_applicator_included(melt_water: str) -> None:
    phase = ContactPhase(
        applicator="ice",
        applicator_temp_c=-5.0,
        melt_water=melt_water,
        thickness_mm=5.0,
        duration_s=900.0,
    )
    case = Case(tissue=CHEEK, phases=(phase,), output=SURFACE)
    final, into_skin = _final_applicator(case)
    app = exposures.applicator_for(phase, "phase[1]")
    cells = final.shape[0] - 1
    mush = mushy_range_k()
    start = applicators.start_temp_c(app, -5.0, 1.0, mush)
    gained = applicators.stored_heat_j_m2(app, final, cells, mush) - (
        applicators.stored_heat_j_m2(app, np.full(cells + 1, start), cells, mush)
    )
    assert gained > 0.5 * 5e-3 * 920 * 333600  # more than half the ice melted
    assert -into_skin == pytest.approx(gained, rel=1e-6)


# ---------------------------------------------------------------- melt water
def test_melt_water_that_mixes_or_drains_keeps_the_skin_colder_than_a_stagnant_layer() -> None:
    stays, mixes, drains = (
        cheek_min(applicator="ice", applicator_temp_c=0.0, melt_water=mode)
        for mode in ("stays", "mixes", "drains")
    )
    assert mixes < stays - 1.0
    assert drains < stays - 1.0
    # Mixed or drained, the face stays at 0 C while ice remains: the skin behind 1000 W/m2K
    # is within a few kelvin of it.
    assert -0.6 < drains < 3.0
    assert -0.6 < mixes < 3.0


def test_an_ice_water_bag_stays_at_its_melting_point_while_ice_remains() -> None:
    bag = cheek_min(600.0, applicator="ice-water-bag", applicator_temp_c=0.0)
    solid = cheek_min(
        600.0,
        applicator="ice",
        applicator_temp_c=0.0,
        thickness_mm=25.0,
        contact_conductance_w_m2k=112.0,  # the bag's
    )
    assert bag == pytest.approx(solid, abs=0.5)


# ---------------------------------------------------------------- barriers
def test_a_barrier_is_its_resistance_in_series_with_the_contact() -> None:
    towel = cheek_min(300.0, applicator="ice", applicator_temp_c=0.0, barrier="towel-wet")
    series = 1.0 / (1.0 / 1000.0 + 3e-3 / 0.45)
    same = cheek_min(
        300.0, applicator="ice", applicator_temp_c=0.0, contact_conductance_w_m2k=series
    )
    assert towel == pytest.approx(same, abs=1e-9)
    dry = cheek_min(300.0, applicator="ice", applicator_temp_c=0.0, barrier="towel-dry")
    bare = cheek_min(300.0, applicator="ice", applicator_temp_c=0.0)
    assert bare < towel < dry  # a dry towel insulates most (Tsang1997)


def test_barrier_errors_name_the_key() -> None:
    with pytest.raises(InvalidInput) as caught:
        ContactPhase(applicator="ice", applicator_temp_c=0.0, barrier="scarf", duration_s=9.0)
    assert caught.value.field == "phase.barrier"
    assert "towel-wet" in caught.value.allowed
    with pytest.raises(InvalidInput) as caught:
        ContactPhase(
            applicator="ice", applicator_temp_c=0.0, barrier_thickness_mm=2.0, duration_s=9.0
        )
    assert caught.value.field == "phase.barrier_thickness_mm"


# ---------------------------------------------------------------- moving applicators
SKIN = Tissue(layers=(Layer("skin", 20.0, 0.37, 1109, 3391),), core_temp_c=33.0)


def _roller(duration_s: float = 8.0, **changes: object) -> ContactPhase:
    values: dict[str, object] = {
        "applicator": "stainless-steel",
        "applicator_temp_c": -5.0,
        "thickness_mm": 50.0,
        "contact_conductance_w_m2k": 1e6,
        "contact_fraction": 0.25,
        "stroke_period_s": 4.0,
        "duration_s": duration_s,
    }
    values.update(changes)
    return ContactPhase(**values)  # type: ignore[arg-type]


def test_a_rollers_first_stroke_meets_the_semi_infinite_contact_temperature() -> None:
    output = Output(sample_every_s=0.25, probes=(Probe("surface", 0.0),))
    case = Case(tissue=SKIN, phases=(_roller(),), initial=UniformInitial(33.0), output=output)
    surface = run(case).probes["surface"]
    e_skin = math.sqrt(0.37 * 1109 * 3391)
    e_steel = math.sqrt(14.9 * 7900 * 477)
    contact = (e_skin * 33.0 + e_steel * -5.0) / (e_skin + e_steel)
    assert surface[1:5] == pytest.approx(contact, abs=0.3)  # 0.25-1 s: the first stroke
    assert surface[12] > contact + 5.0  # 3 s: between strokes the skin rewarms in room air


def test_a_moving_applicator_carries_its_warmth_from_stroke_to_stroke() -> None:
    # The same strokes with a fresh applicator each time (separate contact phases) cool more:
    # the carried applicator warmed under the skin and only partly recovered.
    thin = {"thickness_mm": 2.0, "contact_conductance_w_m2k": 2000.0}
    output = Output(sample_every_s=0.5, probes=(Probe("surface", 0.0),))
    moving = Case(
        tissue=CHEEK, phases=(_roller(40.0, **thin),), initial=UniformInitial(33.0), output=output
    )
    fresh_strokes = []
    for _ in range(10):
        fresh_strokes.append(_roller(1.0, contact_fraction=1.0, stroke_period_s=None, **thin))
        fresh_strokes.append(AmbientPhase(duration_s=3.0))
    fresh = Case(
        tissue=CHEEK, phases=tuple(fresh_strokes), initial=UniformInitial(33.0), output=output
    )
    carried, renewed = (run(case).probes["surface"] for case in (moving, fresh))
    np.testing.assert_allclose(carried[:3], renewed[:3], atol=1e-9)  # the first stroke
    assert carried.min() > renewed.min() + 1.0


def test_a_moving_applicator_needs_its_stroke_period() -> None:
    with pytest.raises(InvalidInput) as caught:
        _roller(stroke_period_s=None)
    assert caught.value.field == "phase.stroke_period_s"
    with pytest.raises(InvalidInput) as caught:
        _roller(contact_fraction=1.0)
    assert caught.value.field == "phase.stroke_period_s"


def test_the_roller_syntax_parses_with_its_errors_named_as_written() -> None:
    text = """
format = "cryoderm-case/1"
[tissue]
zone = "cheek"
[[phase]]
modality = "contact"
applicator = "stainless-steel"
applicator_temp_c = -5.0
contact_fraction = 0.05
stroke_period_s = 2.0
duration_s = 60.0
"""
    case = parse_case_text(text)
    assert case.phases[0].contact_fraction == 0.05
    with pytest.raises(InvalidInput) as caught:
        parse_case_text(text.replace("contact_fraction = 0.05", "contact_fraction = 5.0"))
    assert str(caught.value).startswith("phase[1].contact_fraction = 5.0")


# ---------------------------------------------------------------- convergence
def _roller_below(space: float, time: float) -> list[float]:
    """Skin 0.5 mm below a -5 C steel roller's strokes (1 s in every 4 s, 2000 W/(m2 K)) at
    2, 4, 6 and 8 s. Below the surface: at the surface itself the stiff contact mode, which
    Crank-Nicolson damps only slowly, mixes into the orders (measured about 1.4-1.7)."""
    phase = _roller(8.0, contact_conductance_w_m2k=2000.0)
    case = Case(
        tissue=SKIN,
        phases=(phase,),
        initial=UniformInitial(33.0),
        output=Output(sample_every_s=0.25, probes=(Probe("below", 0.5),)),
        numerics=Numerics(space_refinement=space, time_refinement=time),
    )
    series = run(case).probes["below"]
    return [float(series[i]) for i in (8, 16, 24, 32)]


def _order(coarse: list[float], middle: list[float], fine: list[float]) -> float:
    return min(
        math.log2(abs(a - b) / abs(b - c)) for a, b, c in zip(coarse, middle, fine, strict=True)
    )


def test_the_moving_applicator_converges_at_second_order_in_space() -> None:
    runs = [_roller_below(space, 16.0) for space in (1.0, 2.0, 4.0)]
    assert _order(*runs) == pytest.approx(2.0, abs=0.35)


def test_the_moving_applicator_converges_at_second_order_in_time() -> None:
    runs = [_roller_below(4.0, time) for time in (1.0, 2.0, 4.0)]
    assert _order(*runs) == pytest.approx(2.0, abs=0.35)


def test_the_melting_pack_converges_in_space() -> None:
    # An enthalpy method converges at about first order for a moving front (measured: 0.9
    # from 8 to 16 to 32 cells, 1.3 from 16 to 32 to 64), from above.
    heats = [
        -run(_wall_case(120.0, refinement=r, time=4.0)).metrics["energy_surface_j_m2"]
        for r in (1.0, 2.0, 4.0)
    ]
    order = math.log2(abs(heats[0] - heats[1]) / abs(heats[1] - heats[2]))
    assert order > 0.8
    exact = stefan_heat_j_m2(120.0)
    assert heats[0] > heats[1] > heats[2] > exact


def test_too_many_strokes_are_refused_naming_the_stroke_period() -> None:
    with pytest.raises(InvalidInput) as caught:
        _roller(86400.0, stroke_period_s=0.1)
    assert caught.value.field == "phase.stroke_period_s"
    assert "864000 strokes" in caught.value.allowed


def test_the_contact_spread_scales_the_applicators_own_conductance_not_the_barrier() -> None:
    # The spread of the contact conductance (spreads.py) overrides the applicator's own
    # value; the barrier is added in series when the case runs, once.
    from cryoderm.physics import spreads

    phase = ContactPhase(
        applicator="ice", applicator_temp_c=0.0, barrier="towel-dry", duration_s=60.0
    )
    same = spreads._contact(phase, 1.0)
    assert isinstance(same, ContactPhase)
    resolved = exposures.applicator_for(same, "phase")
    assert resolved.contact_conductance_w_m2k == pytest.approx(
        exposures.applicator_for(phase, "phase").contact_conductance_w_m2k, rel=1e-12
    )


def test_the_melting_pack_converges_in_time() -> None:
    # About first order (measured 0.9 and 0.8 over time refinements 1-2-4-8): the melting
    # front is a kink of the enthalpy that Crank-Nicolson steps across.
    heats = [
        -run(_wall_case(120.0, refinement=4.0, time=t)).metrics["energy_surface_j_m2"]
        for t in (1.0, 2.0, 4.0)
    ]
    order = math.log2(abs(heats[0] - heats[1]) / abs(heats[1] - heats[2]))
    assert order > 0.6
    assert heats[0] > heats[1] > heats[2] > stefan_heat_j_m2(120.0)


def test_an_ice_pack_at_0_c_holds_every_node_at_its_melting_point_while_ice_remains() -> None:
    # 20 mm of ice (mixes) on the cheek for 5 min takes about a tenth of its latent heat:
    # every node of the slab is still within half the mushy range of 0 C.
    phase = ContactPhase(applicator="ice", applicator_temp_c=0.0, duration_s=300.0)
    final, into_skin = _final_applicator(Case(tissue=CHEEK, phases=(phase,), output=SURFACE))
    assert -into_skin < 0.2 * 20e-3 * 920 * 333600
    half = 0.5 * mushy_range_k()
    assert np.all(np.abs(final) <= half + 1e-9)


# ---------------------------------------------------------------- the tables
def test_the_melting_materials_and_barriers_lie_within_their_limits() -> None:
    from cryoderm.data import load_table
    from cryoderm.physics import bounds

    table = load_table("exposures")
    for name, material in table["applicator"].items():
        if "melting_point_c" not in material:
            assert "melt_water" not in material and "ice_fraction" not in material, name
            continue
        assert material["melt_water"] in applicators.MELT_WATER, name
        fraction = material.get("ice_fraction", 1.0)
        assert bounds.bound("phase.contact.ice_fraction").within(fraction), name
        assert "source" in material, name
    choices = bounds.bound("phase.contact.barrier").choices_text
    for name, layer in table["barrier"].items():
        assert name in choices, name  # the documented choices name every barrier
        assert bounds.bound("phase.contact.barrier_thickness_mm").within(layer["thickness_mm"])
        assert bounds.bound("phase.contact.conductivity_w_mk").within(layer["conductivity_w_mk"])
        assert "source" in layer, name
