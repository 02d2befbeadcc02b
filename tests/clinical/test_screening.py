"""Screening: every rule and grade, the stricter-reading default, clinic policies, and
explanations. Personas: Alice (healthy, 42), Bea (Raynaud's), Carl (blood pressure high)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cryoderm.clinical.answers import parse_answers
from cryoderm.clinical.errors import InvalidAnswer
from cryoderm.clinical.policy import ScreeningPolicy
from cryoderm.clinical.rules import GRADES, load_rulebook, strictness
from cryoderm.clinical.screening import Verdict, screen

TODAY = datetime.date(2026, 11, 23)
ALICE: dict[str, Any] = {
    "age_years": 42,
    "sex": "female",
    "fitzpatrick": 2,
    "blood_pressure_mmhg": [118, 76],
    "conditions": [],
}


def answers(**changes: Any) -> dict[str, Any]:
    return {**ALICE, **changes}


def verdict_for(data: dict[str, Any], **kwargs: Any) -> Verdict:
    return screen(parse_answers(data), today=TODAY, **kwargs)


def test_alice_healthy_adult_is_clear() -> None:
    verdict = verdict_for(ALICE)
    assert verdict.outcome == "clear"
    assert verdict.findings == ()


CONDITION_GRADES = [
    ("cold-urticaria", "do-not-treat"),
    ("cryoglobulinaemia", "do-not-treat"),
    ("cold-agglutinin-disease", "do-not-treat"),
    ("paroxysmal-cold-haemoglobinuria", "do-not-treat"),
    ("raynauds", "do-not-treat"),
    ("impaired-sensation", "do-not-treat"),
    ("cardiovascular-disease", "refer"),
    ("uncontrolled-hypertension", "do-not-treat"),
    ("pregnancy", "do-not-treat"),
    ("open-wound-in-area", "do-not-treat"),
    ("skin-infection-in-area", "do-not-treat"),
    ("acute-dermatitis-in-area", "do-not-treat"),
    ("bleeding-disorder", "refer"),
    ("anticoagulants", "refer"),
    ("recent-surgery-in-area", "refer"),
]


def test_the_table_covers_every_condition_in_the_rulebook() -> None:
    assert {c for c, _ in CONDITION_GRADES} == set(load_rulebook().condition_ids)


@pytest.mark.parametrize("modality", ["cold-air", "ln2-vapour", "contact", None])
@pytest.mark.parametrize(("condition", "grade"), CONDITION_GRADES)
def test_each_condition_has_its_sourced_grade(
    condition: str, grade: str, modality: str | None
) -> None:
    verdict = verdict_for(answers(conditions=[condition]), modality=modality)
    finding = next(f for f in verdict.findings if f.rule_id == condition)
    assert finding.grade == grade
    assert finding.source and finding.reason and finding.would_change
    assert finding.triggered_by.startswith("the client answered yes")
    assert strictness(verdict.outcome) >= strictness(grade)


@pytest.mark.parametrize(
    ("changes", "rule_id", "grade"),
    [
        ({"age_years": 10}, "age-under-14", "do-not-treat"),
        ({"age_years": 16}, "age-under-18", "refer"),
        ({"blood_pressure_mmhg": [185, 90]}, "blood-pressure-uncontrolled", "do-not-treat"),
        ({"blood_pressure_mmhg": [170, 105]}, "blood-pressure-uncontrolled", "do-not-treat"),
        ({"blood_pressure_mmhg": None}, "blood-pressure-not-measured", "precautions"),
        ({"fitzpatrick": 5}, "fitzpatrick-iv-vi", "precautions"),
        ({"fitzpatrick": None}, "fitzpatrick-not-recorded", "precautions"),
    ],
)
def test_answer_rules(changes: dict[str, Any], rule_id: str, grade: str) -> None:
    verdict = verdict_for(answers(**changes))
    assert [(f.rule_id, f.grade) for f in verdict.findings] == [(rule_id, grade)]
    assert verdict.outcome == grade


@pytest.mark.parametrize(
    ("changes", "outcome"),
    [
        ({"age_years": 18}, "clear"),
        ({"age_years": 14}, "refer"),
        ({"blood_pressure_mmhg": [180, 100]}, "clear"),
        ({"fitzpatrick": 3}, "clear"),
    ],
)
def test_answer_rule_boundaries(changes: dict[str, Any], outcome: str) -> None:
    assert verdict_for(answers(**changes)).outcome == outcome


@pytest.mark.parametrize(
    ("zones", "modality", "rule_id"),
    [
        (["periorbital"], None, "periorbital-eye-protection"),
        (["cheek"], "ln2-vapour", "dry-skin-before-ln2"),
    ],
)
def test_zone_and_modality_precautions(
    zones: list[str], modality: str | None, rule_id: str
) -> None:
    verdict = verdict_for(ALICE, zones=zones, modality=modality)
    assert verdict.outcome == "precautions"
    assert [f.rule_id for f in verdict.findings] == [rule_id]


def test_zone_precaution_not_raised_for_other_zones() -> None:
    assert verdict_for(ALICE, zones=["cheek"], modality="contact").outcome == "clear"


@pytest.mark.parametrize(
    ("days_ago", "outcome"),
    [(3, "do-not-treat"), (27, "do-not-treat"), (28, "clear"), (200, "clear")],
)
def test_recent_procedure_waiting_period(days_ago: int, outcome: str) -> None:
    date = (TODAY - datetime.timedelta(days=days_ago)).isoformat()
    verdict = verdict_for(answers(recent_procedures=[{"kind": "filler", "date": date}]))
    assert verdict.outcome == outcome
    if outcome != "clear":
        finding = verdict.findings[0]
        ends = (TODAY - datetime.timedelta(days=days_ago) + datetime.timedelta(days=28)).isoformat()
        assert ends in finding.would_change
        assert finding.triggered_by.startswith("Dermal filler on ")


@pytest.mark.parametrize("kind", ["chemical-peel", "laser", "filler", "toxin", "microneedling"])
def test_every_procedure_kind_has_a_sourced_waiting_period(kind: str) -> None:
    period = load_rulebook().waiting_periods[kind]
    assert period.days > 0 and period.source and period.evidence


def test_clinic_policy_may_shorten_a_waiting_period() -> None:
    date = (TODAY - datetime.timedelta(days=10)).isoformat()
    data = answers(recent_procedures=[{"kind": "toxin", "date": date}])
    policy = ScreeningPolicy(name="Clinic A", waiting_period_days={"toxin": 7})
    assert verdict_for(data).outcome == "do-not-treat"
    assert verdict_for(data, policy=policy).outcome == "clear"


def test_bea_with_raynauds_may_be_referred_under_a_lenient_clinic_policy() -> None:
    bea = answers(conditions=["raynauds"])
    policy = ScreeningPolicy(name="Clinic B", grade_overrides={"raynauds": "refer"})
    verdict = verdict_for(bea, policy=policy)
    assert verdict.outcome == "refer" and verdict.needs_sign_off
    finding = verdict.findings[0]
    assert (finding.grade, finding.default_grade) == ("refer", "do-not-treat")
    assert verdict.policy == "Clinic B"
    assert "graded Refer by the clinic's policy" in verdict.summary()


def test_a_policy_may_not_lower_a_rule_every_source_grades_absolute() -> None:
    with pytest.raises(InvalidAnswer, match="absolute in every source"):
        ScreeningPolicy(grade_overrides={"cryoglobulinaemia": "refer"})


def test_a_policy_may_make_a_rule_stricter() -> None:
    policy = ScreeningPolicy(grade_overrides={"cardiovascular-disease": "do-not-treat"})
    verdict = verdict_for(answers(conditions=["cardiovascular-disease"]), policy=policy)
    assert verdict.outcome == "do-not-treat"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"no-such-rule": "refer"}, "grade_overrides.no-such-rule"),
        ({"raynauds": "maybe"}, "grade_overrides.raynauds"),
    ],
)
def test_bad_policies_are_errors(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidAnswer) as caught:
        ScreeningPolicy(grade_overrides=overrides)
    assert caught.value.field == field


def test_area_condition_outside_the_treated_zones_becomes_a_precaution() -> None:
    data = answers(conditions=[{"id": "open-wound-in-area", "zones": ["chin"]}])
    assert verdict_for(data, zones=["chin", "cheek"]).outcome == "do-not-treat"
    spared = verdict_for(data, zones=["forehead"])
    assert spared.outcome == "precautions"
    assert "Chin (mental eminence) not treated: keep the cold away" in spared.findings[0].reason
    assert spared.precautions_for("forehead") == spared.precautions
    assert verdict_for(data).outcome == "do-not-treat"


def test_area_condition_without_zones_counts_everywhere() -> None:
    verdict = verdict_for(answers(conditions=["skin-infection-in-area"]), zones=["forehead"])
    assert verdict.outcome == "do-not-treat"


def test_carl_with_high_blood_pressure_gets_an_explained_verdict() -> None:
    verdict = verdict_for(answers(blood_pressure_mmhg=[190, 110]))
    finding = verdict.findings[0]
    assert finding.triggered_by == "blood pressure 190/110 mmHg"
    assert "180/100" in finding.would_change
    assert "Cryoniq" in finding.source


def test_verdict_round_trips_through_json() -> None:
    verdict = verdict_for(answers(conditions=["anticoagulants"], fitzpatrick=5), zones=["cheek"])
    data = verdict.to_json_dict()
    assert data["outcome"] == "refer"
    assert Verdict.from_json_dict(data) == verdict


CONDITION_IDS = [c for c, _ in CONDITION_GRADES]
base_answers = st.fixed_dictionaries(
    {
        "age_years": st.integers(0, 100),
        "fitzpatrick": st.one_of(st.none(), st.integers(1, 6)),
        "blood_pressure_mmhg": st.one_of(
            st.none(), st.tuples(st.integers(100, 220), st.integers(60, 95)).map(list)
        ),
        "conditions": st.lists(st.sampled_from(CONDITION_IDS), unique=True, max_size=4),
    }
)


@given(
    base=base_answers,
    extra=st.sampled_from(CONDITION_IDS),
    modality=st.sampled_from([None, "cold-air", "ln2-vapour", "contact"]),
    zones=st.one_of(
        st.none(), st.lists(st.sampled_from(load_rulebook().zones), min_size=1, max_size=3)
    ),
)
def test_adding_a_condition_never_makes_a_verdict_less_strict(
    base: dict[str, Any], extra: str, modality: str | None, zones: list[str] | None
) -> None:
    before = verdict_for(base, modality=modality, zones=zones)
    after = verdict_for(
        {**base, "conditions": [*base["conditions"], extra]}, modality=modality, zones=zones
    )
    assert strictness(after.outcome) >= strictness(before.outcome)
    assert after.outcome in GRADES


def test_policy_from_a_clinic_mapping() -> None:
    policy = ScreeningPolicy.from_mapping(
        {
            "name": "Clinic C",
            "grade_overrides": {"pregnancy": "refer"},
            "waiting_period_days": {"laser": 14},
        }
    )
    assert policy.grade(load_rulebook().rules["pregnancy"], None) == "refer"
    assert policy.waiting_days("laser") == 14 and policy.waiting_days("filler") == 28
    assert ScreeningPolicy.from_mapping(policy.to_json_dict()) == policy
    with pytest.raises(InvalidAnswer, match="allowed keys"):
        ScreeningPolicy.from_mapping({"name": "x", "grades": {}})
    with pytest.raises(InvalidAnswer):
        ScreeningPolicy(waiting_period_days={"laser": -1})


def test_a_rule_may_grade_one_modality_differently() -> None:
    from cryoderm.clinical.rules import build_rulebook
    from cryoderm.data import load_table

    table = load_table("contraindications")
    rows = [dict(row) for row in table["condition"]]
    for row in rows:
        if row["id"] == "recent-procedure":
            # A clinic's data edit: Zimmer uses cold air during laser and injections.
            row["modality_grades"] = {"cold-air": "precautions"}
    rulebook = build_rulebook(
        {**table, "condition": rows}, load_rulebook().zones, load_rulebook().modalities
    )
    rule = rulebook.rules["recent-procedure"]
    assert rule.grade_for("cold-air") == "precautions"
    assert rule.grade_for("contact") == "do-not-treat"
    assert rule.grade_for(None) == "do-not-treat"
