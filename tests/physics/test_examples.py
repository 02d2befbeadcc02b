"""The shipped examples (examples/*.toml) simulate, and their curves make physical sense."""

from __future__ import annotations

from pathlib import Path

import pytest

import cryoderm

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.toml"))


@pytest.fixture(scope="module")
def results():
    cases = [cryoderm.load_case(path) for path in EXAMPLES]
    return dict(zip([p.name for p in EXAMPLES], cryoderm.simulate_many(cases), strict=True))


@pytest.mark.parametrize("name", [p.name for p in EXAMPLES])
def test_example_cools_the_skin_during_exposure_and_rewarms_after(results, name):
    output = results[name].to_json_dict()
    assert output["status"] == "ok", output["message"]
    surface = output["probes"]["surface"]
    start, coldest, end = surface[0], min(surface), surface[-1]
    assert coldest < start - 5.0  # every example is a real cold exposure
    assert end > coldest + 5.0  # and each ends with rewarming in room air
    assert all(-60.0 < value < 38.0 for value in surface)
