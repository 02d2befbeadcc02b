"""Virtual cohorts: sampling within sourced spreads, and protocol risk on a real Dask cluster."""

from __future__ import annotations

import pytest

from cryoderm.cohort import population, risk
from cryoderm.physics.casefile import parse_case

LN2_CHEEK = {
    "format": "cryoderm-case/1",
    "tissue": {"zone": "cheek"},
    "perfusion": {"model": "local-cold"},
    "freezing": {"enabled": True},
    "phase": [
        {
            "modality": "ln2-vapour",
            "distance_cm": 15.0,
            "sweep_period_s": 4.0,
            "dwell_s": 1.5,
            "duration_s": 40.0,
        }
    ],
    "output": {"sample_every_s": 1.0},
}


def test_sampling_is_deterministic_and_within_the_tables_limits() -> None:
    first = population.sample("cheek", 200, seed=7)
    assert first == population.sample("cheek", 200, seed=7)
    assert first != population.sample("cheek", 200, seed=8)
    assert {s.sex for s in first} == {"female", "male"}
    assert all(18.0 <= s.age_years <= 90.0 for s in first)
    assert all(0.3 <= s.fat_mm <= 20.0 for s in first)
    fats = sorted(s.fat_mm for s in first)
    assert fats[10] < 4.0 < fats[-10]  # spread around the cheek's 4 mm median


def test_a_subject_tissue_carries_its_thickness_and_perfusion() -> None:
    subject = population.sample("nose", 1, seed=1)[0]
    layers = {layer.name: layer for layer in population.tissue("nose", subject).layers}
    assert layers["fat"].thickness_mm == pytest.approx(subject.fat_mm)
    assert layers["dermis"].perfusion_per_s == pytest.approx(2.0e-3 * subject.perfusion_scale)


def test_unknown_zone_and_bad_size_are_refused() -> None:
    with pytest.raises(ValueError, match="zone"):
        population.sample("elbow", 3)
    with pytest.raises(ValueError, match="size"):
        population.sample("cheek", 0)


def test_protocol_risk_on_a_local_cluster_equals_the_direct_computation() -> None:
    from distributed import Client, LocalCluster

    case = parse_case(LN2_CHEEK)
    with (
        LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        result = risk.protocol_risk(case, 12, seed=3, client=client, chunk_size=5)
    assert result.size == 12 and result.failed == 0
    assert result.floor_c == 2.0  # the LN2 floor of data/thresholds.toml
    direct = risk.evaluate_chunk(case, "cheek", population.sample("cheek", 12, seed=3), 2.0)
    assert [o.min_surface_temp_c for o in result.outcomes] == [o.min_surface_temp_c for o in direct]
    expected = sum(o.below_floor for o in direct) / 12
    assert result.below_floor_fraction == pytest.approx(expected)
    assert (
        0.0 <= result.freeze_risk_fraction <= result.below_floor_fraction
        or result.freeze_risk_fraction == 0.0
    )
    assert result.min_surface_p05_c <= result.min_surface_p50_c


def test_a_case_with_explicit_layers_has_no_population() -> None:
    doc = {
        **LN2_CHEEK,
        "tissue": {
            "layer": [
                {
                    "name": "skin",
                    "thickness_mm": 10.0,
                    "conductivity_w_mk": 0.37,
                    "density_kg_m3": 1109.0,
                    "specific_heat_j_kgk": 3391.0,
                }
            ]
        },
    }
    with pytest.raises(ValueError, match="built-in zone"):
        risk.protocol_risk(parse_case(doc), 2)
