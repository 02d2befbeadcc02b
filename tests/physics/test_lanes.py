"""Subjects of different tissues as the lanes of one kernel call (physics/lanes.py): each
lane's grid is its tissue's grid exactly, and each lane's results are its own run's."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cryoderm.physics.casefile import parse_case
from cryoderm.physics.engine import Engine, simulate
from cryoderm.physics.grid import build_grid
from cryoderm.physics.lanes import FAILED, INVALID, OK, LaneTissues, lane_grids, simulate_lanes


@dataclasses.dataclass(frozen=True)
class UnknownStart:
    """An initial state the engine does not know (a malformed case made in Python)."""


GRID_FIELDS = (
    "capacity_j_m2k",
    "mass_kg_m2",
    "conductance_w_m2k",
    "cell_dx_m",
    "perfusion_w_m2k",
    "metabolic_w_m2",
)


def cheek(**sections: object) -> dict:
    doc: dict[str, object] = {
        "format": "cryoderm-case/1",
        "tissue": {"zone": "cheek"},
        "phase": [
            {"modality": "cold-air", "gas_temp_c": -30.0, "air_speed_m_s": 4.4, "duration_s": 40.0}
        ],
        "output": {
            "sample_every_s": 20.0,
            "probe": [
                {"name": "surface", "depth_mm": 0.0},
                {"name": "dermis", "depth_mm": 0.5},
            ],
        },
    }
    doc.update(sections)
    return doc


def varied(case_tissue, count: int, seed: int = 3) -> LaneTissues:
    """Subjects of the case's layers: dermis 0.5-2.5 mm, fat 1-12 mm, dermal perfusion
    1-5e-3 1/s (the cohort's spreads, data/cohort.toml), the other layers as they are."""
    rng = np.random.default_rng(seed)
    names = [layer.name for layer in case_tissue.layers]
    thickness = np.tile([layer.thickness_mm for layer in case_tissue.layers], (count, 1))
    perfusion = np.tile([layer.perfusion_per_s for layer in case_tissue.layers], (count, 1))
    thickness[:, names.index("dermis")] = rng.uniform(0.5, 2.5, count)
    thickness[:, names.index("fat")] = rng.uniform(1.0, 12.0, count)
    perfusion[:, names.index("dermis")] = rng.uniform(1e-3, 5e-3, count)
    return LaneTissues(thickness, perfusion)


@pytest.mark.parametrize("refinement", [1.0, 2.0])
def test_every_lane_has_its_tissues_grid_exactly(refinement: float) -> None:
    tissue = parse_case(cheek()).tissue
    lanes = varied(tissue, 60)
    grids = lane_grids(tissue, lanes, refinement)
    assert len(set(grids.cells.tolist())) > 3  # lanes of different node counts
    for k in range(len(lanes)):
        grid = build_grid(lanes.tissue(tissue, k), refinement)
        n = int(grids.cells[k])
        assert n == grid.n
        assert np.array_equal(grids.depth_m[k, : n + 1], grid.depth_m)
        for name in GRID_FIELDS:
            assert np.array_equal(getattr(grids, name)[k, :n], getattr(grid, name)), name
        assert tuple(grids.layer_end[k]) == tuple(last for _, last in grid.layer_nodes)


CASES = {
    # local-cold perfusion: the general kernel alone and in lanes
    "local-cold": cheek(perfusion={"model": "local-cold"}),
    # constant perfusion: the linear kernel alone, the general one (linear) in lanes
    "constant": cheek(),
    # freezing, an ice applicator (its rows above the skin) and a rewarming phase
    "contact": cheek(
        perfusion={"model": "local-cold"},
        freezing={"enabled": True},
        phase=[
            {
                "modality": "contact",
                "applicator": "ice",
                "applicator_temp_c": -5.0,
                "duration_s": 20.0,
            },
            {"modality": "ambient", "duration_s": 10.0},
        ],
    ),
    # freezing unstated: linear, and again with freezing where tissue reached its freezing
    # point (engine._needs_freezing), as for one run
    "freezing-unstated": cheek(
        perfusion={"model": "local-cold"},
        phase=[
            {
                "modality": "convective",
                "gas_temp_c": -60.0,
                "heat_transfer_w_m2k": 150.0,
                "duration_s": 30.0,
            },
            {"modality": "ambient", "duration_s": 10.0},
        ],
    ),
    # a uniform start instead of the steady state
    "uniform": cheek(initial={"state": "uniform", "temp_c": 33.0}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_each_lane_gives_its_own_runs_results(name: str) -> None:
    case = parse_case(CASES[name])
    lanes = varied(case.tissue, 40)
    together = simulate_lanes(case, lanes, threads=2)
    assert (together.status == OK).all()
    if name == "freezing-unstated":
        assert np.count_nonzero(~np.isnan(together.max_frozen_depth_mm)) > 0
    for k in range(0, 40, 3):
        alone = simulate(dataclasses.replace(case, tissue=lanes.tissue(case.tissue, k)))
        m, s = alone.metrics, alone.safety
        assert together.min_surface_temp_c[k] == pytest.approx(m["min_surface_temp_c"], abs=1e-9)
        assert together.final_surface_temp_c[k] == pytest.approx(
            m["final_surface_temp_c"], abs=1e-9
        )
        assert together.min_skin_temp_c[k] == pytest.approx(s["min_skin_temp_c"], abs=1e-9)
        assert together.surface_cold_dose_k_s[k] == pytest.approx(
            m["surface_cold_dose_k_s"], abs=1e-9
        )
        for j, threshold in enumerate(together.thresholds_c):
            label = f"{threshold:g}".replace(".", "_")
            assert together.surface_time_below_s[k, j] == pytest.approx(
                m[f"surface_time_below_{label}c_s"], abs=1e-9
            )
            assert together.basal_time_below_s[k, j] == pytest.approx(
                m[f"basal_time_below_{label}c_s"], abs=1e-9
            )
        freeze = s["freeze_risk_time_s"]
        assert (np.isnan(together.freeze_risk_time_s[k]) and freeze is None) or (
            together.freeze_risk_time_s[k] == pytest.approx(freeze, abs=1e-9)
        )
        depth = s["max_frozen_depth_mm"]
        assert (np.isnan(together.max_frozen_depth_mm[k]) and depth is None) or (
            together.max_frozen_depth_mm[k] == pytest.approx(depth, abs=1e-9)
        )


def test_one_thread_and_an_engine_of_its_own_give_the_same_lanes() -> None:
    case = parse_case(CASES["local-cold"])
    lanes = varied(case.tissue, 300)
    mine = simulate_lanes(case, lanes, threads=1, engine=Engine(threads=1))
    theirs = simulate_lanes(case, lanes)
    assert np.array_equal(mine.min_surface_temp_c, theirs.min_surface_temp_c)
    assert np.array_equal(mine.surface_time_below_s, theirs.surface_time_below_s)


def test_a_bad_lane_is_invalid_alone_and_a_bad_case_makes_every_lane_invalid() -> None:
    case = parse_case(CASES["constant"])
    lanes = varied(case.tissue, 6)
    lanes.thickness_mm[2, 1] = -1.0  # a dermis of negative thickness
    lanes.thickness_mm[4, :] = 0.1  # too thin for the probe at 0.5 mm
    results = simulate_lanes(case, lanes)
    assert results.status.tolist() == [OK, OK, INVALID, OK, INVALID, OK]
    assert "tissue.layer[2].thickness_mm" in results.messages["invalid"]
    assert np.isnan(results.min_surface_temp_c[[2, 4]]).all()
    # A case the engine cannot start (an initial state it does not know): every lane.
    unknown = dataclasses.replace(case, initial=UnknownStart())  # type: ignore[arg-type]
    everyone = simulate_lanes(unknown, lanes)
    assert (everyone.status == INVALID).all()
    assert "initial.state" in everyone.messages["invalid"]


def test_a_failed_lane_fails_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    from cryoderm.physics import solver

    monkeypatch.setattr(solver, "MAX_ITERATIONS", 2)
    case = parse_case(CASES["contact"])
    results = simulate_lanes(case, varied(case.tissue, 8))
    assert (results.status == FAILED).any()
    assert "converge" in results.messages["failed"]
    assert np.isnan(results.min_surface_temp_c[results.status == FAILED]).all()
