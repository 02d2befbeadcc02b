"""The protocol catalogue: complete, sourced, within the safety registry, and honest."""

from __future__ import annotations

import pytest

from cryoderm.clinical.catalogue import all_protocols, goal_ids, protocol
from cryoderm.clinical.errors import InvalidAnswer
from cryoderm.clinical.limits import load_safety_limits

GOALS = ("skin-tone", "collagen", "inflammation", "pores", "tightening", "under-eye-puffiness")


def test_the_six_goals_are_catalogued() -> None:
    assert set(goal_ids()) == set(GOALS)


def test_every_goal_zone_modality_is_covered_except_puffiness_off_the_eyes() -> None:
    limits = load_safety_limits()
    entries = {(p.goal, p.zone, p.modality) for p in all_protocols()}
    assert len(entries) == 5 * len(limits.zones) * 3 + 3
    assert ("under-eye-puffiness", "periorbital", "contact") in entries


def test_every_entry_is_sourced_and_inside_the_safety_registry() -> None:
    limits = load_safety_limits()
    for p in all_protocols():
        assert p.floor_temp_c <= p.band_low_c < p.band_high_c
        assert p.hold_s < p.max_exposure_s == limits.max_exposure_s(p.zone, p.modality)
        assert p.techniques and p.aftercare and p.course_sessions[0] <= p.course_sessions[1]
        for field in (
            "target_band",
            "hold",
            "technique",
            "floor",
            "max_exposure",
            "evidence",
            "course",
        ):
            assert p.sources[field].strip(), (p.goal, p.zone, p.modality, field)


def test_ln2_targets_the_fda_cleared_band() -> None:
    p = protocol("skin-tone", "cheek", "ln2-vapour")
    assert (p.band_low_c, p.band_high_c, p.floor_temp_c) == (2.0, 4.0, 2.0)
    assert "K203661" in p.sources["target_band"]
    distances = {t.distance_cm for t in (*p.techniques, *p.hold_techniques)}
    assert 15.0 in distances and all(10.0 <= d <= 15.0 for d in distances)


def test_contact_band_stays_above_the_numbness_criterion() -> None:
    p = protocol("inflammation", "cheek", "contact")
    assert p.band_low_c > load_safety_limits().threshold("contact-numbness").value
    assert p.band_high_c < load_safety_limits().threshold("analgesia").value


@pytest.mark.parametrize(
    ("goal", "grade", "plain_words"),
    [
        ("skin-tone", "transient", "short-lived"),
        ("collagen", "none", "No evidence"),
        ("pores", "none", "does not close"),
        ("tightening", "low", "No study of facial cold for tightening"),
        ("inflammation", "low", "13.6"),
        ("under-eye-puffiness", "low", "not for cosmetic puffiness"),
    ],
)
def test_evidence_is_stated_honestly_in_plain_words(
    goal: str, grade: str, plain_words: str
) -> None:
    zone = "periorbital" if goal == "under-eye-puffiness" else "forehead"
    p = protocol(goal, zone, "cold-air")
    assert p.evidence_grade == grade
    assert plain_words.lower() in p.evidence_words.lower()


@pytest.mark.parametrize(
    ("goal", "zone", "modality", "field"),
    [
        ("glow", "cheek", "contact", "goal"),
        ("pores", "ear", "contact", "zone"),
        ("pores", "cheek", "ice-bath", "modality"),
        ("under-eye-puffiness", "forehead", "contact", "zone"),
    ],
)
def test_unknown_or_inapplicable_entries_are_errors(
    goal: str, zone: str, modality: str, field: str
) -> None:
    with pytest.raises(InvalidAnswer) as caught:
        protocol(goal, zone, modality)
    assert caught.value.field == field


def test_every_catalogued_technique_is_a_valid_case() -> None:
    from cryoderm.clinical.planner import Delivery, build_case
    from cryoderm.physics.casefile import case_to_toml, parse_case_text
    from cryoderm.physics.zones import tissue_for_zone

    tissue = tissue_for_zone("cheek")
    seen = set()
    for p in all_protocols():
        for technique in (*p.techniques, *p.hold_techniques):
            if technique in seen:
                continue
            seen.add(technique)
            case = build_case(tissue, Delivery(technique, 10.0), 5.0)
            assert parse_case_text(case_to_toml(case)) == case, technique.describe()


def test_catalogue_entries_serialise_with_their_sources() -> None:
    import json

    data = json.loads(json.dumps(protocol("inflammation", "chin", "contact").to_json_dict()))
    assert data["target_band_c"] == [8.0, 12.0]
    assert data["techniques"][0] == {
        "modality": "contact",
        "applicator": "stainless-steel",
        "applicator_temp_c": 4.0,
    }
    assert "Bugaj" in data["sources"]["target_band"]
