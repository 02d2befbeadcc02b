"""The 2-D axisymmetric engine (docs/physics.md section 10): the R2 benchmark reference, the
1-D engine in the wide-spot limit, the energy budget, the case file and the outputs."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

import cryoderm
from cryoderm.physics import exposures, spots
from cryoderm.physics.case import (
    AmbientPhase,
    ColdAirPhase,
    ContactPhase,
    ConvectivePhase,
    Freezing,
    Geometry,
    Ln2VapourPhase,
    Numerics,
    Output,
    Perfusion,
    Probe,
)
from cryoderm.physics.casefile import case_to_toml, parse_case_text
from cryoderm.physics.errors import InvalidInput

REPO = Path(__file__).resolve().parents[2]
R2_CASE = REPO / "benchmarks" / "cases" / "r2-jet-spot.toml"
# R2 converged reference (benchmarks/cases/README.md): time -> probe -> C, met at 0.05 K.
R2_REFERENCE = {
    30.0: {"centre": -33.448, "centre-1mm": -7.764, "edge": -2.116},
    60.0: {"centre": -44.412, "centre-1mm": -22.786, "edge": -12.007},
}
SPOT = Geometry(kind="axisymmetric", radius_mm=30.0)


@pytest.fixture(scope="module")
def r2() -> cryoderm.physics.case.Case:
    # R2 is a reference problem of the linear equation (benchmarks/cases/README.md); freezing
    # would otherwise be on, the jet being colder than the freezing point.
    case = cryoderm.load_case(R2_CASE)
    return dataclasses.replace(case, freezing=cryoderm.physics.case.Freezing(enabled=False))


def _at(result, probe: str, time_s: float) -> float:
    index = int(np.argmin(np.abs(result.time_s - time_s)))
    assert abs(result.time_s[index] - time_s) < 1e-9
    return float(result.probes[probe][index])


def test_r2_meets_its_converged_reference_within_0_05_k(r2) -> None:
    result = cryoderm.simulate(r2)
    assert result.ok, result.message
    for time_s, probes in R2_REFERENCE.items():
        for probe, value in probes.items():
            assert _at(result, probe, time_s) == pytest.approx(value, abs=0.05), (probe, time_s)


def _column_and_spot(base, phases_column, phases_spot, probes_column, probes_spot):
    column = dataclasses.replace(
        base,
        geometry=Geometry(),
        phases=phases_column,
        output=Output(sample_every_s=5.0, probes=probes_column),
    )
    spot = dataclasses.replace(
        base,
        geometry=SPOT,
        phases=phases_spot,
        output=Output(sample_every_s=5.0, probes=probes_spot),
    )
    return cryoderm.simulate(column), cryoderm.simulate(spot)


def test_a_spot_wider_than_the_cylinder_is_the_column_to_rounding(r2) -> None:
    # A top-hat covering the whole surface, no background: every column of the cylinder is
    # the 1-D column (same depth grid, same steps), so probes anywhere and every metric agree.
    cold = dict(gas_temp_c=-30.0, heat_transfer_w_m2k=50.0, duration_s=60.0)
    rewarm = AmbientPhase(ambient_temp_c=25.0, heat_transfer_w_m2k=10.0, duration_s=30.0)
    column, spot = _column_and_spot(
        r2,
        (ConvectivePhase(**cold), rewarm),
        (
            ConvectivePhase(
                **cold,
                spot_profile="top-hat",
                spot_radius_mm=40.0,
                background_heat_transfer_w_m2k=0.0,
            ),
            rewarm,
        ),
        (Probe("surface", 0.0), Probe("deep", 1.0)),
        (Probe("surface", 0.0, 12.0), Probe("deep", 1.0, 29.0)),
    )
    assert column.ok and spot.ok, spot.message
    for name in ("surface", "deep"):
        np.testing.assert_allclose(spot.probes[name], column.probes[name], rtol=0, atol=1e-9)
    for key, value in column.metrics.items():
        if key.startswith("energy_"):
            continue
        assert spot.metrics[key] == pytest.approx(value, abs=1e-9), key
    for key in ("freeze_risk_time_s", "min_skin_temp_c", "margin_to_pain_limit_k"):
        assert spot.safety[key] == pytest.approx(column.safety[key], abs=1e-9), key


def test_the_background_adds_to_a_uniform_spot_as_one_combined_exchange(r2) -> None:
    # Spot h 40 to -30 C plus background h 10 at 25 C over the whole surface: the column
    # sees h 50 towards the weighted mean, (40 (-30) + 10 (25)) / 50 = -19 C.
    column, spot = _column_and_spot(
        r2,
        (ConvectivePhase(gas_temp_c=-19.0, heat_transfer_w_m2k=50.0, duration_s=40.0),),
        (
            ConvectivePhase(
                gas_temp_c=-30.0,
                heat_transfer_w_m2k=40.0,
                duration_s=40.0,
                spot_profile="top-hat",
                spot_radius_mm=30.0,
                background_temp_c=25.0,
                background_heat_transfer_w_m2k=10.0,
            ),
        ),
        (Probe("surface", 0.0),),
        (Probe("surface", 0.0, 7.0),),
    )
    np.testing.assert_allclose(spot.probes["surface"], column.probes["surface"], atol=1e-9)


def test_the_energy_budget_of_the_cylinder_closes(r2) -> None:
    metrics = cryoderm.simulate(r2).metrics
    stored = metrics["energy_stored_j"]
    assert stored < -50.0  # the jet takes tens of joules out of the cylinder
    assert abs(metrics["energy_balance_error_j"]) < 1e-9 * abs(stored)
    inflow = sum(
        metrics[f"energy_{name}_j"] for name in ("surface", "core", "perfusion", "metabolic")
    )
    assert stored == pytest.approx(inflow, rel=1e-9)


def test_the_spot_is_coldest_on_its_axis_and_room_air_far_from_it(r2) -> None:
    case = dataclasses.replace(r2, output=dataclasses.replace(r2.output, full_field=True))
    result = cryoderm.simulate(case)
    field = result.field
    assert field is not None and field.radius_mm is not None
    surface = field.temp_c[-1, 0]  # the last output time, the surface row
    assert np.all(np.diff(surface) >= 0.0)  # warmer with every step away from the axis
    assert surface[0] == pytest.approx(_at(result, "centre", 60.0), abs=1e-12)
    assert surface[-1] == pytest.approx(field.temp_c[0, 0, -1], abs=0.05)  # far field unchanged
    assert result.metrics["min_surface_temp_c"] == pytest.approx(surface[0], abs=1e-12)
    assert result.safety["max_frozen_radius_mm"] > 5.0
    assert field.temp_c.shape == (len(result.time_s), len(field.depth_mm), len(field.radius_mm))


def test_a_probe_on_a_node_reads_the_field_there(r2) -> None:
    from cryoderm.physics.axisym import prepare

    radius_mm = float(prepare(r2).radial.radius_m[7] * 1e3)
    case = dataclasses.replace(
        r2,
        output=Output(
            sample_every_s=30.0, probes=(Probe("ring", 0.0, radius_mm),), full_field=True
        ),
    )
    result = cryoderm.simulate(case)
    np.testing.assert_allclose(result.probes["ring"], result.field.temp_c[:, 0, 7], atol=1e-12)


def test_a_colder_or_stronger_or_wider_jet_never_leaves_the_axis_warmer(r2) -> None:
    def centre(**change) -> float:
        phase = dataclasses.replace(r2.phases[0], **change)
        result = cryoderm.simulate(dataclasses.replace(r2, phases=(phase,)))
        return float(result.probes["centre"][-1])

    base = centre()
    assert centre(gas_temp_c=-110.0) < base
    assert centre(heat_transfer_w_m2k=250.0) < base
    assert centre(spot_radius_mm=8.0) < base
    assert centre(spot_profile="top-hat") < base  # a top-hat of the 1/e radius is wider


def test_a_swept_jet_on_a_spot_sees_only_the_background_between_passes(r2) -> None:
    sweep = Ln2VapourPhase(
        distance_cm=15.0,
        sweep_period_s=4.0,
        dwell_s=1.0,
        duration_s=20.0,
        spot_profile="gaussian",
        spot_radius_mm=5.0,
        background_temp_c=25.0,
        background_heat_transfer_w_m2k=10.0,
    )
    held = dataclasses.replace(sweep, sweep_period_s=1.0, dwell_s=1.0)
    swept = cryoderm.simulate(dataclasses.replace(r2, phases=(sweep,)))
    still = cryoderm.simulate(dataclasses.replace(r2, phases=(held,)))
    assert swept.ok and still.ok, swept.message
    # A quarter of the jet's time: colder than the room, far warmer than the jet held.
    coldest_swept = swept.metrics["min_surface_temp_c"]
    assert still.metrics["min_surface_temp_c"] < coldest_swept - 5.0
    assert coldest_swept < float(swept.probes["centre"][0]) - 3.0
    # Between passes the spot rewarms towards the room: the last output, 3 s after the
    # last pass, is warmer than the coldest moment.
    assert float(swept.probes["centre"][-1]) > coldest_swept + 2.0


def test_simulate_many_keeps_the_order_of_mixed_cases(r2) -> None:
    column = cryoderm.load_case(REPO / "benchmarks" / "cases" / "r1-cold-air.toml")
    results = cryoderm.simulate_many([column, r2, column])
    assert [r.ok for r in results] == [True, True, True]
    assert "centre" in results[1].probes and "surface" in results[0].probes
    assert results[1].probes["centre"][-1] == cryoderm.simulate(r2).probes["centre"][-1]


# ---------------------------------------------------------------- the case file
def test_the_r2_case_file_round_trips(r2) -> None:
    assert parse_case_text(case_to_toml(r2)) == r2


def _document(phase: str, extra: str = "", probe: str = "") -> str:
    return f"""
format = "cryoderm-case/1"
[tissue]
zone = "cheek"
{extra}
[[phase]]
{phase}
duration_s = 10.0
[[output.probe]]
name = "p"
depth_mm = 0.0
{probe}
"""


AXISYMMETRIC = '[geometry]\nkind = "axisymmetric"\nradius_mm = 20.0'
JET = 'modality = "convective"\ngas_temp_c = -30.0\nheat_transfer_w_m2k = 100.0'


@pytest.mark.parametrize(
    ("phase", "extra", "probe", "message"),
    [
        (
            JET + '\nspot_profile = "gaussian"\nspot_radius_mm = 4.0',
            "",
            "",
            "phase[1].spot_profile = 'gaussian': only with [geometry] kind = \"axisymmetric\"",
        ),
        (
            JET,
            "",
            "radius_mm = 3.0",
            'output.probe[1].radius_mm = 3.0 mm: only with [geometry] kind = "axisymmetric"',
        ),
        (
            JET + '\nspot_profile = "gaussian"',
            AXISYMMETRIC,
            "",
            "phase[1].spot_radius_mm = (missing) mm: required: a number >= 0.1 and <= 200",
        ),
        (
            JET + "\nspot_radius_mm = 4.0",
            AXISYMMETRIC,
            "",
            "phase[1].spot_radius_mm = 4.0 mm: only with a spot_profile",
        ),
        (
            JET + '\nspot_profile = "gaussian"\nspot_radius_mm = 4.0',
            AXISYMMETRIC,
            "radius_mm = 25.0",
            "output.probe[1].radius_mm = 25.0 mm: a number >= 0 and <= 20 (the tissue's "
            "radius (geometry.radius_mm))",
        ),
        (
            JET + '\nspot_profile = "ring"\nspot_radius_mm = 4.0',
            AXISYMMETRIC,
            "",
            "phase[1].spot_profile = 'ring': one of: gaussian, top-hat",
        ),
        (
            JET,
            '[geometry]\nkind = "sphere"',
            "",
            "geometry.kind = 'sphere': one of: column, axisymmetric",
        ),
        (JET, "[geometry]\nradius_mm = 0.5", "", "geometry.radius_mm = 0.5 mm: a number >= 1"),
    ],
)
def test_a_bad_geometry_is_refused_naming_the_key(phase, extra, probe, message) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_case_text(_document(phase, extra, probe))
    assert str(caught.value).startswith(message), str(caught.value)


def test_radiation_to_a_cold_surrounding_cannot_be_confined_to_a_spot(r2) -> None:
    phase = ColdAirPhase(
        gas_temp_c=-30.0,
        air_speed_m_s=5.0,
        duration_s=10.0,
        radiant_temp_c=-30.0,
        spot_profile="gaussian",
        spot_radius_mm=5.0,
    )
    result = cryoderm.simulate(dataclasses.replace(r2, phases=(phase,)))
    assert result.status == "invalid"
    assert result.message.startswith("phase[1].radiant_temp_c = -30.0 °C: not with a spot")


# ---------------------------------------------------------------- outputs
def test_the_field_is_an_xarray_variable_over_time_depth_and_radius(r2) -> None:
    case = dataclasses.replace(r2, output=dataclasses.replace(r2.output, full_field=True))
    result = cryoderm.simulate(case)
    data = result.to_xarray()
    assert data["field_temp_c"].dims == ("time_s", "depth_mm", "radius_mm")
    centre = data["field_temp_c"].sel(time_s=60.0, depth_mm=0.0, radius_mm=0.0)
    assert float(centre) == pytest.approx(_at(result, "centre", 60.0), abs=1e-12)
    document = json.loads(json.dumps(result.to_json_dict(), allow_nan=False))
    field = document["field"]
    assert len(field["temp_c"][0]) == len(field["depth_mm"])
    assert len(field["temp_c"][0][0]) == len(field["radius_mm"])
    assert result.to_dataframe().columns.tolist() == ["centre", "centre-1mm", "edge"]
    assert document["provenance"]["case_sha256"] == result.provenance.case_sha256


# ---------------------------------------------------------------- the general path
def _wide(r2, perfusion, freezing, phase):
    """(column, spot) results of ``phase`` over the whole surface, then rewarming."""
    rewarm = AmbientPhase(ambient_temp_c=25.0, heat_transfer_w_m2k=10.0, duration_s=20.0)
    base = dataclasses.replace(r2, perfusion=perfusion, freezing=freezing)
    spot = phase
    if not isinstance(phase, ColdAirPhase):
        spot = dataclasses.replace(
            phase, spot_profile="top-hat", spot_radius_mm=40.0, background_heat_transfer_w_m2k=0.0
        )
    return _column_and_spot(
        base,
        (phase, rewarm),
        (spot, rewarm),
        (Probe("surface", 0.0), Probe("deep", 1.0)),
        (Probe("surface", 0.0, 12.0), Probe("deep", 1.0, 3.0)),
    )


DEEP_COLD = ConvectivePhase(gas_temp_c=-60.0, heat_transfer_w_m2k=200.0, duration_s=40.0)


@pytest.mark.parametrize(
    ("perfusion", "freezing", "phase"),
    [
        (Perfusion(model="local-cold"), Freezing(), DEEP_COLD),
        (Perfusion(), Freezing(enabled=True), DEEP_COLD),
        (Perfusion(model="local-cold"), Freezing(enabled=True), DEEP_COLD),
        (
            Perfusion(),
            Freezing(),
            ColdAirPhase(gas_temp_c=-30.0, air_speed_m_s=5.0, duration_s=40.0),
        ),
    ],
    ids=["local-cold", "freezing", "both", "radiation"],
)
def test_the_wide_spot_limit_holds_for_every_nonlinear_law(r2, perfusion, freezing, phase) -> None:
    # The general path iterates to 1e-7 K per step, as the column engine does.
    column, spot = _wide(r2, perfusion, freezing, phase)
    assert column.ok and spot.ok, spot.message
    for name in ("surface", "deep"):
        np.testing.assert_allclose(spot.probes[name], column.probes[name], rtol=0, atol=1e-6)
    for key in ("min_surface_temp_c", "min_dermis_temp_c", "min_perfusion_ratio"):
        assert spot.metrics[key] == pytest.approx(column.metrics[key], abs=1e-6), key
    assert spot.safety["freeze_risk_time_s"] == pytest.approx(
        column.safety["freeze_risk_time_s"], abs=1e-6
    )


def test_the_general_path_solves_a_linear_case_as_the_linear_path_does(r2) -> None:
    from cryoderm.physics import axisym, axisym_kernels, engine, freezing, perfusion, solver

    prepared = axisym.prepare(r2)
    law = perfusion.resolve(r2.perfusion, None)
    phase = freezing.resolve(r2.freezing, r2.tissue, False)
    columns = solver._columns(engine._setting(r2, prepared.grid, law, phase))
    segments = exposures.segments(r2.phases)
    table = spots.surface_table(r2, segments, prepared.radial)
    contact = spots.contact_table(r2, segments, prepared.radial, 8)
    general = axisym._general(columns, prepared.grid, law, phase, table, contact, prepared.radial)
    forced = dataclasses.replace(prepared, general=general)
    linear, iterated = axisym.run(prepared), axisym.run(forced)
    assert iterated.ok, iterated.message
    for name in ("centre", "centre-1mm", "edge"):
        np.testing.assert_allclose(iterated.probes[name], linear.probes[name], atol=1e-9)
    assert axisym_kernels.N_ACC > 0


def test_latent_heat_holds_the_spot_warmer_and_the_budget_still_closes() -> None:
    case = cryoderm.load_case(R2_CASE)
    small = dataclasses.replace(
        case,
        geometry=Geometry(kind="axisymmetric", radius_mm=15.0),
        phases=(dataclasses.replace(case.phases[0], duration_s=20.0),),
        output=dataclasses.replace(case.output, sample_every_s=10.0),
        numerics=Numerics(space_refinement=0.5),  # coarse: a property, not a figure
    )
    dry = cryoderm.simulate(dataclasses.replace(small, freezing=Freezing(enabled=False)))
    frozen = cryoderm.simulate(dataclasses.replace(small, freezing=Freezing(enabled=True)))
    assert frozen.ok, frozen.message
    # Freezing releases latent heat: the axis stays warmer than without it.
    assert frozen.probes["centre"][-1] > dry.probes["centre"][-1] + 5.0
    assert frozen.safety["max_frozen_depth_mm"] > 0.2
    assert 0.0 < frozen.safety["max_frozen_radius_mm"] < 15.0
    assert frozen.metrics["min_perfusion_ratio"] == 0.0  # frozen tissue is not perfused
    stored = frozen.metrics["energy_stored_j"]
    assert abs(frozen.metrics["energy_balance_error_j"]) < 1e-6 * abs(stored)


def test_vasoconstriction_under_a_spot_takes_its_warmth_away(r2) -> None:
    constricted = cryoderm.simulate(
        dataclasses.replace(r2, perfusion=Perfusion(model="local-cold"))
    )
    basal = cryoderm.simulate(r2)
    assert constricted.ok, constricted.message
    assert constricted.probes["centre-1mm"][-1] < basal.probes["centre-1mm"][-1] - 0.2
    assert constricted.metrics["min_perfusion_ratio"] < 0.5
    case = dataclasses.replace(
        r2,
        perfusion=Perfusion(model="local-cold"),
        output=dataclasses.replace(r2.output, full_field=True),
    )
    field = cryoderm.simulate(case).field
    # Constricted under the spot, basal far from it.
    assert field.perfusion_ratio[-1, 5, 0] < 0.5
    assert field.perfusion_ratio[-1, 5, -1] == pytest.approx(1.0, abs=1e-6)


def test_the_field_round_trips_through_netcdf_with_its_provenance(r2, tmp_path) -> None:
    from cryoderm.research.outputs import read, write_result

    case = dataclasses.replace(r2, output=dataclasses.replace(r2.output, full_field=True))
    result = cryoderm.simulate(case)
    write_result(result, case, tmp_path / "r2.nc")
    data = read(tmp_path / "r2.nc")
    np.testing.assert_allclose(data["field_temp_c"].values, result.field.temp_c)
    assert data.attrs["case_sha256"] == result.provenance.case_sha256


# ---------------------------------------------------------------- contact footprints
CONTACTS = [
    ContactPhase(applicator="stainless-steel", applicator_temp_c=4.0, duration_s=40.0),
    ContactPhase(applicator="ice", applicator_temp_c=-5.0, duration_s=40.0),
]


# Moving applicators and melt water that drains: the column's slab carried from stroke to
# stroke, recovering between strokes (physics/applicators.py).
MOVING = [
    ContactPhase(
        applicator="stainless-steel",
        applicator_temp_c=-5.0,
        contact_fraction=0.25,
        stroke_period_s=8.0,
        duration_s=40.0,
    ),
    ContactPhase(
        applicator="ice-massage",
        applicator_temp_c=-5.0,
        contact_fraction=0.5,
        stroke_period_s=10.0,
        duration_s=40.0,
    ),
]


@pytest.mark.parametrize(
    "contact", CONTACTS + MOVING, ids=["steel", "ice", "steel-roller", "ice-massage"]
)
def test_an_applicator_over_the_whole_surface_is_the_columns_contact(r2, contact) -> None:
    # A contact phase without a spot covers the whole surface: every ring's applicator
    # column is the column engine's slab.
    rest = AmbientPhase(ambient_temp_c=25.0, heat_transfer_w_m2k=10.0, duration_s=20.0)
    column, spot = _column_and_spot(
        r2,
        (contact, rest),
        (contact, rest),
        (Probe("surface", 0.0), Probe("deep", 1.0)),
        (Probe("surface", 0.0, 12.0), Probe("deep", 1.0, 3.0)),
    )
    assert column.ok and spot.ok, spot.message
    for name in ("surface", "deep"):
        np.testing.assert_allclose(spot.probes[name], column.probes[name], rtol=0, atol=1e-6)
    assert spot.metrics["min_surface_temp_c"] == pytest.approx(
        column.metrics["min_surface_temp_c"], abs=1e-6
    )


@pytest.mark.parametrize("contact", CONTACTS, ids=["steel", "ice"])
def test_an_applicators_footprint_cools_under_it_and_hardly_beside_it(r2, contact) -> None:
    stamp = dataclasses.replace(contact, spot_profile="top-hat", spot_radius_mm=8.0)
    case = dataclasses.replace(
        r2,
        phases=(stamp,),
        output=Output(
            sample_every_s=20.0,
            probes=(Probe("centre", 0.0), Probe("rim", 0.0, 8.0), Probe("beside", 0.0, 12.0)),
        ),
    )
    result = cryoderm.simulate(case)
    assert result.ok, result.message
    centre, rim, beside = (float(result.probes[p][-1]) for p in ("centre", "rim", "beside"))
    start = float(result.probes["beside"][0])
    assert centre < rim - 3.0 < beside - 6.0
    assert beside > start - 2.0  # 4 mm beside the footprint the skin stays near its start
    stored = result.metrics["energy_stored_j"]
    assert abs(result.metrics["energy_balance_error_j"]) < 1e-6 * abs(stored)


def test_an_applicators_footprint_is_a_top_hat(r2) -> None:
    stamp = dataclasses.replace(CONTACTS[0], spot_profile="gaussian", spot_radius_mm=8.0)
    result = cryoderm.simulate(dataclasses.replace(r2, phases=(stamp,)))
    assert result.status == "invalid"
    assert result.message.startswith("phase[1].spot_profile = 'gaussian'")
