"""LN2 vapour sweep settings: the defaults a case file takes and their basis."""

from __future__ import annotations

import pytest

from cryoderm.data import load_table
from cryoderm.physics.case import Ln2VapourPhase
from cryoderm.physics.casefile import parse_case_text
from cryoderm.physics.errors import InvalidInput
from cryoderm.physics.exposures import ln2_sweep_defaults

CASE = """
format = "cryoderm-case/1"
[tissue]
zone = "cheek"
[[phase]]
modality = "ln2-vapour"
duration_s = 60.0
"""


def test_the_default_sweep_is_the_footprint_passing_at_the_wand_speed() -> None:
    sweep = load_table("exposures")["ln2_vapour"]["sweep"]
    nozzle = load_table("exposures")["ln2_vapour"]["nozzle_diameter_cm"]
    distance, period, dwell = ln2_sweep_defaults()
    speed = sweep["wand_speed_cm_s"]["value"]
    assert distance == 15.0
    assert period == pytest.approx(sweep["path_length_cm"]["value"] / speed)
    # footprint 1 + 2 x 0.094 x 15 = 3.82 cm at 5 cm/s
    assert dwell == pytest.approx((nozzle + 2 * 0.094 * 15.0) / speed) == pytest.approx(0.764)
    # farther: a wider footprint, a longer dwell
    assert ln2_sweep_defaults(5.0)[2] < dwell < ln2_sweep_defaults(40.0)[2]


def test_a_case_file_may_leave_the_sweep_to_its_defaults() -> None:
    phase = parse_case_text(CASE).phases[0]
    assert phase == Ln2VapourPhase(15.0, 2.0, 0.764, 60.0)
    near = parse_case_text(CASE + "distance_cm = 5.0\n").phases[0]
    assert isinstance(near, Ln2VapourPhase)
    assert (near.sweep_period_s, near.dwell_s) == (2.0, pytest.approx(0.388))
    held = parse_case_text(CASE + "sweep_period_s = 0.5\n").phases[0]
    assert isinstance(held, Ln2VapourPhase)
    assert held.dwell_s == 0.5  # the footprint's dwell cut to the stated period


def test_stated_sweeps_are_kept_and_checked() -> None:
    phase = parse_case_text(CASE + "distance_cm = 10.0\nsweep_period_s = 4.0\ndwell_s = 1.0\n")
    assert phase.phases[0] == Ln2VapourPhase(10.0, 4.0, 1.0, 60.0)
    with pytest.raises(
        InvalidInput, match=r"phase\[1\]\.dwell_s = 3.0 s: a number >= 0.01 and <= 2"
    ):
        parse_case_text(CASE + "dwell_s = 3.0\n")
