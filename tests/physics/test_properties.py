"""Physical properties the engine must have for any exposure (hypothesis, few examples).

- colder gas, or a longer exposure, never leaves the skin warmer, anywhere, at any time
  (a longer exposure within 0.005 K: its time steps land on other switch times);
- the batched path gives the same answer as one case at a time;
- the energy budget closes: stored = surface + core + perfusion + metabolic heat;
- local cold never increases blood flow (perfusion ratio <= 1 everywhere, always).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import cryoderm
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
    Perfusion,
    Phase,
    Probe,
    Tissue,
)

CHEEK = Tissue(
    layers=(
        Layer("epidermis", 0.1, 0.24, 1200, 3590),
        Layer("dermis", 1.0, 0.45, 1200, 3300, 1.25e-3, 368.0),
        Layer("fat", 4.0, 0.21, 911, 2348, 5.0e-4),
        Layer("muscle", 6.0, 0.49, 1090, 3421, 6.7e-4, 992.0),
    )
)
PROBES = (Probe("surface", 0.0), Probe("basal", 0.1), Probe("1mm", 1.0), Probe("3mm", 3.0))
OUTPUT = Output(sample_every_s=2.0, probes=PROBES)

perfusions = st.sampled_from([Perfusion(), Perfusion(model="local-cold")])
gas = st.floats(-60.0, 10.0)
conductance = st.floats(5.0, 150.0)
duration = st.floats(5.0, 40.0)

phases: st.SearchStrategy[Phase] = st.one_of(
    st.builds(
        ConvectivePhase, gas_temp_c=gas, heat_transfer_w_m2k=conductance, duration_s=duration
    ),
    st.builds(
        ColdAirPhase, gas_temp_c=gas, air_speed_m_s=st.floats(0.0, 10.0), duration_s=duration
    ),
    st.builds(
        Ln2VapourPhase,
        distance_cm=st.floats(5.0, 25.0),
        sweep_period_s=st.floats(2.0, 6.0),
        dwell_s=st.floats(0.2, 1.5),
        duration_s=duration,
    ),
    st.builds(
        ContactPhase,
        applicator=st.sampled_from(["stainless-steel", "aluminium", "gel-pack", "stone"]),
        applicator_temp_c=st.floats(-20.0, 10.0),
        duration_s=duration,
    ),
    # Ice is ice at or below its melting point (above it, it is refused); its melt water.
    st.builds(
        ContactPhase,
        applicator=st.sampled_from(["ice", "crushed-ice-pack", "frozen-peas", "ice-massage"]),
        applicator_temp_c=st.floats(-20.0, 0.0),
        melt_water=st.sampled_from([None, "stays", "mixes", "drains"]),
        duration_s=duration,
    ),
    # Moving applicators: rollers and stamps.
    st.builds(
        ContactPhase,
        applicator=st.just("stainless-steel"),
        applicator_temp_c=st.floats(-20.0, 10.0),
        contact_fraction=st.floats(0.05, 0.9),
        stroke_period_s=st.floats(1.0, 6.0),
        duration_s=duration,
    ),
    st.builds(AmbientPhase, duration_s=duration),
)
cases = st.builds(
    Case,
    tissue=st.just(CHEEK),
    phases=st.lists(phases, min_size=1, max_size=2).map(tuple),
    perfusion=perfusions,
    freezing=st.sampled_from([Freezing(), Freezing(enabled=True)]),
    output=st.just(OUTPUT),
)


def _all_probes(result: cryoderm.physics.results.SimulationResult) -> np.ndarray:
    assert result.ok, result.message
    return np.vstack([result.probes[p.name] for p in PROBES])


@settings(max_examples=12)
@given(warm=gas, drop=st.floats(0.5, 40.0), h=conductance, perfusion=perfusions)
def test_colder_gas_never_leaves_the_skin_warmer(
    warm: float, drop: float, h: float, perfusion: Perfusion
) -> None:
    def exposed(temp: float) -> Case:
        cold = ConvectivePhase(gas_temp_c=temp, heat_transfer_w_m2k=h, duration_s=30.0)
        return Case(
            tissue=CHEEK,
            phases=(cold, AmbientPhase(duration_s=20.0)),
            perfusion=perfusion,
            output=OUTPUT,
        )

    warmer, colder = cryoderm.simulate_many([exposed(warm), exposed(warm - drop)])
    assert np.all(_all_probes(colder) <= _all_probes(warmer) + 1e-9)


@settings(max_examples=12)
@given(
    short=st.floats(2.0, 30.0),
    extra=st.floats(0.5, 20.0),
    temp=st.floats(-60.0, -10.0),
    h=st.floats(20.0, 150.0),
    perfusion=perfusions,
)
def test_longer_exposure_never_leaves_the_skin_warmer(
    short: float, extra: float, temp: float, h: float, perfusion: Perfusion
) -> None:
    # The exposure is colder than the room air that follows it (22 C, h 10).
    def exposed(seconds: float) -> Case:
        cold = ConvectivePhase(gas_temp_c=temp, heat_transfer_w_m2k=h, duration_s=seconds)
        rest = AmbientPhase(duration_s=60.0 - seconds)
        # One model for both: with freezing left to the engine, only the longer exposure
        # might reach the freezing point and run on the finer backward-Euler freezing path,
        # whose discretisation differs by more than this property's 0.005 K.
        return Case(
            tissue=CHEEK,
            phases=(cold, rest),
            perfusion=perfusion,
            output=OUTPUT,
            freezing=Freezing(enabled=False),
        )

    brief, longer = cryoderm.simulate_many([exposed(short), exposed(short + extra)])
    # The two runs step onto different switch times, so they differ by discretisation
    # error too: the property holds within half the verified accuracy (0.01 K).
    assert np.all(_all_probes(longer) <= _all_probes(brief) + 0.005)


@settings(max_examples=6)
@given(st.lists(cases, min_size=2, max_size=5))
def test_batched_equals_one_by_one(batch: list[Case]) -> None:
    together = cryoderm.simulate_many(batch)
    for case, batched in zip(batch, together, strict=True):
        alone = cryoderm.simulate(case)
        assert alone.status == batched.status
        if alone.ok:
            for name in alone.probes:
                assert np.max(np.abs(alone.probes[name] - batched.probes[name])) <= 1e-9


@settings(max_examples=10)
@given(cases)
def test_energy_balance_closes(case: Case) -> None:
    result = cryoderm.simulate(case)
    assert result.ok, result.message
    m = result.metrics
    scale = (
        abs(m["energy_stored_j_m2"])
        + abs(m["energy_surface_j_m2"])
        + abs(m["energy_perfusion_j_m2"])
        + 1.0
    )
    assert abs(m["energy_balance_error_j_m2"]) <= 1e-6 * scale


@settings(max_examples=8)
@given(cases)
def test_local_cold_never_increases_blood_flow(case: Case) -> None:
    case = dataclasses.replace(
        case,
        perfusion=Perfusion(model="local-cold"),
        output=dataclasses.replace(OUTPUT, full_field=True),
    )
    result = cryoderm.simulate(case)
    assert result.ok, result.message
    assert result.field is not None
    assert np.all(result.field.perfusion_ratio <= 1.0 + 1e-12)
    assert np.all(result.field.perfusion_ratio >= 0.0)
    ratio = result.metrics["min_perfusion_ratio"]
    assert ratio is not None and ratio <= 1.0
