"""Virtual cohorts: sampling within sourced spreads, protocol risk in process and on Dask."""

from __future__ import annotations

import numpy as np
import pytest

from cryoderm.cohort import risk
from cryoderm.cohort.errors import InvalidCohort
from cryoderm.cohort.population import VirtualPopulation
from cryoderm.data import load_table
from cryoderm.physics.casefile import parse_case
from cryoderm.physics.zones import tissue_for_zone


def ln2_cheek(distance_cm: float, dwell_s: float = 3.0) -> dict:
    """A swept LN2-vapour exposure of the cheek with freezing on (40 s)."""
    return {
        "format": "cryoderm-case/1",
        "tissue": {"zone": "cheek"},
        "perfusion": {"model": "local-cold"},
        "freezing": {"enabled": True},
        "phase": [
            {
                "modality": "ln2-vapour",
                "distance_cm": distance_cm,
                "sweep_period_s": 4.0,
                "dwell_s": dwell_s,
                "duration_s": 40.0,
            }
        ],
        "output": {"sample_every_s": 5.0},
    }


COLD_AIR_CHEEK = parse_case(
    {
        "format": "cryoderm-case/1",
        "tissue": {"zone": "cheek"},
        "perfusion": {"model": "local-cold"},
        "phase": [
            {"modality": "cold-air", "gas_temp_c": -30.0, "air_speed_m_s": 4.4, "duration_s": 60.0}
        ],
        "output": {"sample_every_s": 30.0},
    }
)
ALICE_COHORT = VirtualPopulation("cheek", sex="mixed", age_min_years=25, age_max_years=70, seed=1)


def test_the_same_seed_draws_the_same_subjects_and_another_seed_others() -> None:
    first = ALICE_COHORT.sample(500)
    again = ALICE_COHORT.sample(500)
    other = VirtualPopulation("cheek", age_min_years=25, age_max_years=70, seed=2).sample(500)
    for name in ("female", "age_years", "dermis_mm", "fat_mm", "dermis_perfusion_per_s"):
        assert np.array_equal(getattr(first, name), getattr(again, name))
        assert not np.array_equal(getattr(first, name), getattr(other, name))


def test_subjects_stay_within_the_sourced_spreads() -> None:
    spread = load_table("cohort")
    women = VirtualPopulation("forehead", sex="female", age_min_years=40, age_max_years=40)
    subjects = women.sample(20_000)
    assert subjects.female.all() and (subjects.age_years == 40).all()
    # Meng 2022: forehead dermis 0.86 +/- 0.16 mm in women; truncated at +/- 2 SD.
    mean = 0.86
    sd = spread["dermis"]["cv_female"]["value"] * mean
    assert subjects.dermis_mm.min() >= mean - 2 * sd and subjects.dermis_mm.max() <= mean + 2 * sd
    assert subjects.dermis_mm.mean() == pytest.approx(mean, rel=0.01)
    assert subjects.dermis_mm.std() == pytest.approx(0.88 * sd, rel=0.05)  # 2-SD truncation
    assert subjects.fat_mm.min() >= spread["fat"]["min_mm"]["value"]
    low = spread["perfusion"]["dermis_min_per_s"]["value"]
    high = spread["perfusion"]["dermis_max_per_s"]["value"]
    perfusion = subjects.dermis_perfusion_per_s
    assert low <= perfusion.min() and perfusion.max() <= high
    assert np.exp(np.log(perfusion).mean()) == pytest.approx(np.sqrt(low * high), rel=0.02)


def test_a_mixed_cohort_has_both_sexes_and_ages_across_the_range() -> None:
    subjects = ALICE_COHORT.sample(2_000)
    assert 0.45 < subjects.female.mean() < 0.55
    assert subjects.age_years.min() == 25 and subjects.age_years.max() == 70


def test_a_subject_tissue_is_the_zone_with_its_own_dermis_fat_and_perfusion() -> None:
    subjects = ALICE_COHORT.sample(3)
    tissue = subjects.tissue(0)
    layers = {layer.name: layer for layer in tissue.layers}
    zone = {layer.name: layer for layer in tissue_for_zone("cheek").layers}
    assert layers["dermis"].thickness_mm == subjects.dermis_mm[0]
    assert layers["fat"].thickness_mm == subjects.fat_mm[0]
    assert layers["dermis"].perfusion_per_s == subjects.dermis_perfusion_per_s[0]
    assert layers["muscle"] == zone["muscle"] and layers["epidermis"] == zone["epidermis"]
    assert tissue.age_years == subjects.age_years[0]


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: VirtualPopulation("elbow"), "population.zone"),
        (lambda: VirtualPopulation("cheek", sex="other"), "population.sex"),  # type: ignore[arg-type]
        (lambda: VirtualPopulation("cheek", age_min_years=12), "population.age_min_years"),
        (lambda: VirtualPopulation("cheek", age_max_years=120), "population.age_max_years"),
        (
            lambda: VirtualPopulation("cheek", age_min_years=70, age_max_years=25),
            "population.age_min_years",
        ),
        (lambda: VirtualPopulation("cheek", seed=-1), "population.seed"),
        (lambda: ALICE_COHORT.sample(0), "n"),
        (lambda: risk.protocol_risk(COLD_AIR_CHEEK, ALICE_COHORT, 5, block_size=0), "block_size"),
        (lambda: risk.protocol_risk(COLD_AIR_CHEEK, ALICE_COHORT, 5, floor_c=99.0), "floor_c"),
        (
            lambda: risk.protocol_risk(COLD_AIR_CHEEK, ALICE_COHORT, 5, band_c=(12.0, 8.0)),
            "band_c",
        ),
        (
            lambda: risk.protocol_risk(COLD_AIR_CHEEK, VirtualPopulation("nose"), 5),
            "population.zone",
        ),
    ],
)
def test_bad_inputs_are_refused_naming_the_field(build, field) -> None:
    with pytest.raises(InvalidCohort) as caught:
        build()
    assert caught.value.field == field
    assert str(caught.value).startswith(field)


def test_the_same_seed_gives_the_same_risk() -> None:
    first = risk.protocol_risk(COLD_AIR_CHEEK, ALICE_COHORT, 24, block_size=10)
    assert first == risk.protocol_risk(COLD_AIR_CHEEK, ALICE_COHORT, 24, block_size=7)
    assert first.status_counts == {"ok": 24, "failed": 0, "invalid": 0}
    assert first.floor_c == 2.0 and first.band_c == (8.0, 12.0)  # cold-air floor and band
    p = first.min_surface_temp_c
    assert p["p01"] <= p["p05"] <= p["p50"] <= p["p95"] <= p["p99"]
    below = first.surface_time_below_s
    assert below["0c"]["p50"] <= below["4c"]["p50"] <= below["10c"]["p50"]


def test_a_distributed_run_equals_the_single_process_run_exactly() -> None:
    from distributed import Client, LocalCluster

    here: list[int] = []
    there: list[int] = []
    alone = risk.protocol_risk(
        COLD_AIR_CHEEK, ALICE_COHORT, 24, block_size=5, progress=lambda d, n: here.append(d)
    )
    with (
        LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        spread = risk.protocol_risk(
            COLD_AIR_CHEEK,
            ALICE_COHORT,
            24,
            block_size=5,
            client=client,
            progress=lambda d, n: there.append(d),
        )
        # On a worker the engine keeps to the task's thread (the cores are the workers').
        assert client.submit(risk._on_dask_worker, pure=False).result() is True
    assert spread == alone
    assert risk._on_dask_worker() is False
    # progress (a command's bar) follows the blocks as they finish, here and on the cluster
    assert here == [5, 10, 15, 20, 24] and sorted(there) == there and there[-1] == 24


def test_a_colder_protocol_never_has_a_lower_freeze_risk_fraction() -> None:
    warmest_first = [parse_case(ln2_cheek(d)) for d in (11.0, 10.0, 9.0, 8.0)]
    results = [risk.protocol_risk(case, ALICE_COHORT, 16) for case in warmest_first]
    freeze = [float(r.freeze_risk_fraction or 0.0) for r in results]
    floor = [float(r.below_floor_fraction or 0.0) for r in results]
    assert all(r.status_counts["ok"] == 16 for r in results)
    assert freeze == sorted(freeze) and floor == sorted(floor)
    assert freeze[0] < freeze[-1]


def test_runs_the_engine_refuses_are_counted_and_explained_not_dropped() -> None:
    doc = ln2_cheek(11.0)
    depth_mm = tissue_for_zone("cheek").depth_mm
    # A probe at the mean cheek's full depth lies below the thinner subjects' tissue.
    doc["output"]["probe"] = [{"name": "deep", "depth_mm": depth_mm}]
    result = risk.protocol_risk(parse_case(doc), ALICE_COHORT, 12)
    counts = result.status_counts
    assert result.n == 12 and counts["ok"] + counts["invalid"] == 12
    assert 0 < counts["invalid"] < 12
    assert "output.probe[1].depth_mm" in result.messages["invalid"]
    assert result.min_surface_temp_c  # the ok runs are still summarised


def test_a_block_of_subjects_in_lanes_gives_each_subjects_own_run() -> None:
    import dataclasses

    from cryoderm.physics.engine import simulate

    subjects = ALICE_COHORT.sample(40)
    base, lanes = subjects.lanes()
    for k in range(len(subjects)):
        assert lanes.tissue(base, k).layers == subjects.tissue(k).layers
    block = risk.evaluate_block(COLD_AIR_CHEEK, subjects)
    assert (block.status == 0).all()
    for k in range(0, 40, 4):
        alone = simulate(dataclasses.replace(COLD_AIR_CHEEK, tissue=subjects.tissue(k)))
        assert block.min_surface_temp_c[k] == pytest.approx(
            alone.metrics["min_surface_temp_c"], abs=1e-9
        )
        for j, key in enumerate(risk.TIME_BELOW.values()):
            assert block.time_below_s[k, j] == pytest.approx(alone.metrics[key], abs=1e-9)
        assert block.freeze_risk[k] == (alone.safety["freeze_risk_time_s"] is not None)
