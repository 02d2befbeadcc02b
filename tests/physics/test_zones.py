"""Built-in facial zones: every zone builds, every number has a source, refinements behave."""

from __future__ import annotations

import pytest

from cryoderm.data import load_table
from cryoderm.physics.case import Perfusion
from cryoderm.physics.errors import InvalidInput
from cryoderm.physics.perfusion import resolve
from cryoderm.physics.zones import age_rule, list_zones, tissue_for_zone, zone_info

REQUIRED_ZONES = {
    "forehead",
    "glabella",
    "temple",
    "periorbital",
    "cheek",
    "nose",
    "perioral",
    "chin",
    "jawline",
    "neck",
}
EVIDENCE = {"S", "V", "D", "I", "A"}


def test_the_issue_s_zones_are_all_built_in():
    assert {zone.name for zone in list_zones()} >= REQUIRED_ZONES


@pytest.mark.parametrize("zone", sorted(REQUIRED_ZONES))
@pytest.mark.parametrize("sex", [None, "female", "male"])
def test_every_zone_builds_positive_layers_surface_first(zone, sex):
    tissue = tissue_for_zone(zone, sex=sex)
    names = [layer.name for layer in tissue.layers]
    assert names[:3] == ["epidermis", "dermis", "fat"] and names[3] in {"muscle", "bone"}
    for layer in tissue.layers:
        assert layer.thickness_mm > 0 and layer.conductivity_w_mk > 0
        assert layer.density_kg_m3 > 0 and layer.specific_heat_j_kgk > 0
    assert tissue.zone == zone and tissue.sex == sex


def test_thermal_epidermis_is_the_histological_not_the_ultrasound_value():
    for zone in list_zones():
        assert 0.05 <= zone.layers[0].thickness_mean_mm <= 0.1


def test_facial_dermis_perfusion_defaults_to_2e_3_per_second():
    assert tissue_for_zone("cheek").layers[1].perfusion_per_s == 2.0e-3


def _numbers(node, path=""):
    """Every number in the table with its path and the inline table that holds it."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, bool):
                continue
            if isinstance(value, int | float):
                yield f"{path}.{key}", node
            else:
                yield from _numbers(value, f"{path}.{key}")


def test_every_number_in_the_tissue_table_carries_a_source_and_an_evidence_marker():
    found = list(_numbers(load_table("tissue")))
    assert len(found) > 60
    for path, holder in found:
        assert str(holder.get("source", "")).strip(), path
        assert holder.get("evidence") in EVIDENCE, path


def test_zone_info_lists_sources_for_every_layer():
    for zone in list_zones():
        for layer in zone.layers:
            assert layer.thickness_source and layer.thickness_evidence in EVIDENCE
            assert all(p.source and p.evidence in EVIDENCE for p in layer.properties)


def test_men_have_the_thicker_dermis_where_meng_2022_found_it():
    for zone in ("forehead", "glabella", "temple", "cheek", "jawline"):
        female = tissue_for_zone(zone, sex="female").layers[1].thickness_mm
        male = tissue_for_zone(zone, sex="male").layers[1].thickness_mm
        assert male > female


def test_without_a_sex_the_dermis_is_the_mean_of_both():
    mean = tissue_for_zone("forehead").layers[1].thickness_mm
    assert mean == pytest.approx((0.86 + 1.17) / 2)


def test_women_s_dermis_thins_with_age_at_the_sites_meng_2022_names():
    rate = age_rule()["dermis_change_per_decade"].value
    for zone in ("forehead", "glabella", "cheek", "jawline"):
        young = tissue_for_zone(zone, sex="female", age_years=30).layers[1].thickness_mm
        old = tissue_for_zone(zone, sex="female", age_years=70).layers[1].thickness_mm
        assert old < young
        assert old / young == pytest.approx((1 + 3 * rate) / (1 - rate))


def test_age_changes_nothing_where_no_thinning_was_found():
    for zone, sex in (("temple", "female"), ("forehead", "male"), ("neck", "female")):
        young = tissue_for_zone(zone, sex=sex, age_years=25)
        old = tissue_for_zone(zone, sex=sex, age_years=75)
        assert young.layers == old.layers


def test_men_s_dermis_thins_with_age_only_at_the_zygoma():
    assert zone_info("cheek").age_thinning == ("female", "male")
    assert "male" not in zone_info("forehead").age_thinning


def test_thickness_overrides_win_over_the_table():
    tissue = tissue_for_zone("cheek", thickness_overrides_mm={"fat": 2.5, "dermis": 1.3})
    assert tissue.layers[1].thickness_mm == 1.3 and tissue.layers[2].thickness_mm == 2.5


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"zone": "elbow"}, "tissue.zone"),
        ({"zone": "cheek", "sex": "x"}, "tissue.sex"),
        ({"zone": "cheek", "age_years": 150}, "tissue.age_years"),
        ({"zone": "cheek", "thickness_overrides_mm": {"bone": 1.0}}, "tissue.thickness_mm.bone"),
        ({"zone": "cheek", "thickness_overrides_mm": {"fat": -1.0}}, "tissue.thickness_mm.fat"),
    ],
)
def test_bad_zone_requests_are_named(kwargs, field):
    zone = kwargs.pop("zone")
    with pytest.raises(InvalidInput) as caught:
        tissue_for_zone(zone, **kwargs)
    assert caught.value.field == field


def test_an_unknown_zone_lists_the_allowed_ones():
    with pytest.raises(InvalidInput, match="forehead, glabella"):
        tissue_for_zone("elbow")


def test_the_forehead_deep_boundary_is_the_frontal_bone_by_sex():
    # Eksi 2021: frontal bone 8.7 mm in women, 7.9 mm in men; the brain below is at core.
    assert tissue_for_zone("forehead", sex="female").layers[-1].thickness_mm == 8.7
    assert tissue_for_zone("forehead", sex="male").layers[-1].thickness_mm == 7.9
    assert tissue_for_zone("forehead").layers[-1].thickness_mm == pytest.approx(8.3)


def test_forehead_skin_constricts_less_in_local_cold_than_cheek_skin():
    # No vasoconstrictor nerves in the forehead (Hertzman & Roth 1942): only the
    # non-adrenergic part of the local-cold response remains.
    local = Perfusion(model="local-cold")
    forehead, cheek = resolve(local, "forehead"), resolve(local, "cheek")
    assert forehead.scale_k > cheek.scale_k
    for temp_c in (29.0, 20.0, 10.0):
        assert forehead.factor(temp_c) > cheek.factor(temp_c)
    assert resolve(local, "glabella") == forehead
    assert resolve(local, None) == cheek


def test_a_law_given_in_the_case_wins_over_the_zone_default():
    law = resolve(Perfusion(model="local-cold", scale_k=5.0), "forehead")
    assert law.scale_k == 5.0
