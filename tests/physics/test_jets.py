"""Cold air from a nozzle at a distance (physics/jets.py): the impinging-jet correlation
against another laboratory's measurements, the device tables, the case-file keys and their
errors, and the engine using it."""

from __future__ import annotations

import dataclasses
import itertools
import math

import pytest

from cryoderm.data import load_table
from cryoderm.physics import exposures, jets
from cryoderm.physics.case import Case, ColdAirPhase
from cryoderm.physics.casefile import case_to_toml, parse_case_text
from cryoderm.physics.engine import simulate
from cryoderm.physics.errors import InvalidInput
from cryoderm.physics.provenance import resolved
from cryoderm.physics.zones import tissue_for_zone


def goldstein_1986_average_nusselt(reynolds: float, distance: float, radius: float) -> float:
    """Area-averaged Nusselt number over r <= R measured by Goldstein1986 for a round air jet
    (their fit of their data: Nu / Re^0.76 = (24 - |L/D - 7.75|) / (533 + 44 (R/D)^1.285),
    61,000 <= Re <= 124,000, 6 <= L/D <= 12), an independent laboratory's data."""
    return reynolds**0.76 * (24.0 - abs(distance - 7.75)) / (533.0 + 44.0 * radius**1.285)


ACCURACY = float(load_table("exposures")["cold_air_jet"]["accuracy"]["value"])


@pytest.mark.parametrize(
    ("reynolds", "distance"),
    list(itertools.product((61_000.0, 87_000.0, 124_000.0), (6.0, 8.0, 10.0, 12.0))),
)
def test_martin_reproduces_the_measured_average_nusselt_numbers(
    reynolds: float, distance: float
) -> None:
    # Air at room temperature (Pr 0.71, Bergman2011 Table A.4 at 300 K: 0.707), the
    # correlation's whole radius range (2.5 <= r/D <= 7.5) where both hold.
    for radius in (2.5, 4.0, 5.5, 7.5):
        martin = jets.martin_nusselt(reynolds, distance, radius, 0.707)
        measured = goldstein_1986_average_nusselt(reynolds, distance, radius)
        assert martin == pytest.approx(measured, rel=ACCURACY), (reynolds, distance, radius)


def test_the_correlation_has_its_published_shape() -> None:
    # Martin1977: Nu ~ Re^0.5 at low Re, ~ Re^0.775 at high Re; the average falls with the
    # radius averaged over; at H/D = 6 the distance term vanishes.
    f = [jets.martin_nusselt(re, 6.0, 2.5, 0.7) for re in (2e3, 4e3, 2e5, 4e5)]
    low = math.log(f[1] / f[0]) / math.log(2.0)
    high = math.log(f[3] / f[2]) / math.log(2.0)
    assert 0.5 < low < 0.6 and 0.7 < high < 0.8
    assert jets.martin_nusselt(1e4, 6.0, 2.5, 0.7) == pytest.approx(
        (1 / 2.5) * (1 - 1.1 / 2.5) * 2 * 1e4**0.5 * (1 + 0.005 * 1e4**0.55) ** 0.5 * 0.7**0.42
    )
    radii = [jets.martin_nusselt(3e4, 5.0, r, 0.7) for r in (2.5, 4.0, 7.5)]
    assert radii == sorted(radii, reverse=True)


def test_air_properties_are_the_table_at_its_rows() -> None:
    props = jets.air_properties(300.0 - 273.15)
    assert props.conductivity_w_mk == pytest.approx(0.0263)
    assert props.kinematic_viscosity_m2_s == pytest.approx(15.89e-6)
    assert props.prandtl == pytest.approx(0.707)


def _nozzle_case(**phase: object) -> Case:
    fields: dict[str, object] = {"duration_s": 120.0}
    fields.update(phase)
    return Case(tissue=tissue_for_zone("cheek"), phases=(ColdAirPhase(**fields),))  # type: ignore[arg-type]


def test_the_engine_takes_the_jet_h_and_the_mixed_air_at_the_skin() -> None:
    case = _nozzle_case(device="cryo-6-class", setting=4.0, nozzle_distance_mm=100.0)
    (segment,) = exposures.segments(case.phases)
    device = load_table("exposures")["cold_air_device"]["cryo-6-class"]
    nozzle = jets.Nozzle(
        device["nozzle_diameter_mm"], 100.0, device["exit_speed_m_s"][3], device["exit_temp_c"]
    )
    assert segment.heat_transfer_w_m2k == pytest.approx(jets.heat_transfer_w_m2k(nozzle))
    # 100 mm = 5 diameters: still within the free jet's potential core (K = 5), exit air.
    assert segment.gas_temp_c == pytest.approx(-30.0)
    assert segment.radiant_temp_c == pytest.approx(load_table("exposures")["room_air"]["temp_c"])
    farther = _nozzle_case(device="cryo-6-class", setting=4.0, nozzle_distance_mm=200.0)
    (far,) = exposures.segments(farther.phases)
    assert far.gas_temp_c == pytest.approx(22.0 + (-30.0 - 22.0) * 5 / 10)


def test_closer_and_stronger_jets_cool_more() -> None:
    def coldest(distance_mm: float, setting: float) -> float:
        case = _nozzle_case(device="cryo-6-class", setting=setting, nozzle_distance_mm=distance_mm)
        result = simulate(case)
        assert result.status == "ok"
        return float(result.safety["min_skin_temp_c"])

    assert coldest(60.0, 4.0) < coldest(120.0, 4.0) < coldest(200.0, 4.0)
    assert coldest(100.0, 6.0) < coldest(100.0, 3.0) < coldest(100.0, 1.0)


def test_a_nozzle_described_by_its_own_figures_is_the_device_at_its_setting() -> None:
    device = load_table("exposures")["cold_air_device"]["cryo-6-class"]
    by_device = _nozzle_case(device="cryo-6-class", setting=2.0, nozzle_distance_mm=80.0)
    by_figures = _nozzle_case(
        gas_temp_c=device["exit_temp_c"],
        nozzle_diameter_mm=device["nozzle_diameter_mm"],
        exit_speed_m_s=device["exit_speed_m_s"][1],
        nozzle_distance_mm=80.0,
    )
    assert exposures.segments(by_device.phases) == exposures.segments(by_figures.phases)
    # The resolved case (provenance) states the device's figures.
    phase = resolved(by_device).phases[0]
    assert isinstance(phase, ColdAirPhase)
    assert phase.exit_speed_m_s == device["exit_speed_m_s"][1]
    assert phase.nozzle_diameter_mm == device["nozzle_diameter_mm"]
    assert phase.radiant_temp_c == 22.0


CASE = """
format = "cryoderm-case/1"
[tissue]
zone = "cheek"
[[phase]]
modality = "cold-air"
duration_s = 60.0
"""


def test_a_nozzle_case_file_round_trips() -> None:
    case = parse_case_text(
        CASE + 'device = "cryo-6-class"\nsetting = 3\nnozzle_distance_mm = 90.0\n'
    )
    assert parse_case_text(case_to_toml(case)) == case


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("gas_temp_c = -30.0\ndistance_cm = 10.0", "did you mean 'nozzle_distance_mm' (in mm)?"),
        ("gas_temp_c = -30.0\ndistance_mm = 10.0", "did you mean 'nozzle_distance_mm' (in mm)?"),
        (
            "gas_temp_c = -30.0\nspeed_m_s = 3.0",
            "did you mean 'air_speed_m_s' (in m/s) or 'exit_speed_m_s' (in m/s)?",
        ),
        ("gas_temp_c = -30.0", "phase[1].air_speed_m_s = (missing) m/s: required for wind"),
        (
            'device = "cryo-6-class"\nnozzle_distance_mm = 100.0',
            "phase[1].setting = (missing)",
        ),
        (
            'device = "cryo-6-class"\nsetting = 9\nnozzle_distance_mm = 100.0',
            "phase[1].setting = 9.0: one of the settings of cryo-6-class: 1, 2, 3, 4, 5, 6",
        ),
        (
            'device = "cryo-6-class"\nsetting = 2\nnozzle_distance_mm = 300.0',
            "phase[1].nozzle_distance_mm = 300.0 mm: from 2 to 12 nozzle diameters for the "
            "impinging-jet correlation (Martin1977): 40 to 240 mm for a 20 mm nozzle",
        ),
        (
            'device = "zimmer"\nsetting = 2\nnozzle_distance_mm = 100.0',
            "phase[1].device = 'zimmer': one of: cryo-6-class",
        ),
        (
            "gas_temp_c = -30.0\nnozzle_distance_mm = 100.0\nnozzle_diameter_mm = 20.0",
            "phase[1].exit_speed_m_s = (missing) m/s: required for a nozzle without a device",
        ),
        (
            "gas_temp_c = -30.0\nnozzle_distance_mm = 100.0\nnozzle_diameter_mm = 20.0\n"
            "exit_speed_m_s = 0.6",
            "phase[1].exit_speed_m_s = 0.6 m/s: a nozzle Reynolds number from 2000 to 400000",
        ),
        (
            "gas_temp_c = -30.0\nair_speed_m_s = 3.0\nsetting = 2",
            "phase[1].setting = 2.0: only with nozzle_distance_mm",
        ),
        (
            "gas_temp_c = -30.0\nair_speed_m_s = 3.0\nnozzle_distance_mm = 100.0",
            "phase[1].air_speed_m_s = 3.0 m/s: not with nozzle_distance_mm",
        ),
    ],
)
def test_cold_air_errors_name_the_key_its_unit_and_what_is_allowed(
    extra: str, expected: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_case_text(CASE + extra + "\n")
    assert expected in str(caught.value)


def test_wind_cases_are_unchanged() -> None:
    wind = _nozzle_case(gas_temp_c=-10.0, air_speed_m_s=5.0)
    (segment,) = exposures.segments(wind.phases)
    assert segment.heat_transfer_w_m2k == pytest.approx(15.0 * 5.0**0.62)
    assert segment.gas_temp_c == segment.radiant_temp_c == -10.0
    assert dataclasses.replace(wind.phases[0]).nozzle is False  # type: ignore[union-attr]
