"""The planner: steps that reach the target band and keep every documented margin; the
exported cases reproduce the predictions; refusals when treatment is not permitted or no
safe protocol exists."""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
import pytest

import cryoderm
from cryoderm.clinical.answers import parse_answers
from cryoderm.clinical.catalogue import planner_settings
from cryoderm.clinical.errors import InvalidAnswer, TreatmentNotPermitted
from cryoderm.clinical.limits import load_safety_limits
from cryoderm.clinical.planner import Plan, PlanRequest, plan
from cryoderm.clinical.screening import Verdict, screen
from cryoderm.physics.casefile import case_to_toml

TODAY = datetime.date(2026, 11, 23)
ZONES = {
    "ln2-vapour": ("cheek", "periorbital"),
    "cold-air": ("forehead", "nose"),
    "contact": ("chin", "periorbital"),
}


def verdict_for(conditions: list[str], modality: str, zones: tuple[str, ...]) -> Verdict:
    answers = parse_answers(
        {
            "age_years": 45,
            "sex": "female",
            "fitzpatrick": 2,
            "blood_pressure_mmhg": [120, 80],
            "conditions": conditions,
        }
    )
    return screen(answers, modality=modality, zones=zones, today=TODAY)


@pytest.fixture(scope="module", params=sorted(ZONES))
def planned(request: pytest.FixtureRequest) -> Plan:
    modality = request.param
    zones = ZONES[modality]
    return plan(
        PlanRequest(
            goals=("skin-tone",),
            zones=zones,
            modality=modality,
            sex="female",
            age_years=45,
            verdict=verdict_for([], modality, zones),
        )
    )


def test_every_step_reaches_its_band_within_the_zone_limit(planned: Plan) -> None:
    assert planned.feasible and not planned.pending_sign_off
    for step in planned.steps:
        p = step.prediction
        assert step.status == "planned" and not p.failures
        assert p.reached_band_at_s is not None and p.reached_band_at_s <= p.duration_s
        assert p.time_in_band_s >= step.hold_s and p.time_in_band_s > 0
        assert 0 < p.duration_s <= step.max_exposure_s
        assert step.max_exposure_s == load_safety_limits().max_exposure_s(step.zone, step.modality)


def test_every_step_keeps_its_documented_margins(planned: Plan) -> None:
    settings = planner_settings()
    for step in planned.steps:
        m = step.prediction.margins
        assert m.to_floor_k >= 0
        assert m.to_freezing_k >= settings.layer_margin_k
        assert m.freeze_risk_time_s is None
        if step.modality == "contact":
            assert m.to_numbness_k is not None and m.to_numbness_k >= 0


def test_step_carries_curves_evidence_and_sources(planned: Plan) -> None:
    step = planned.steps[0]
    p = step.prediction
    assert len(p.time_s) == len(p.surface_c) == len(p.basal_c) > 10
    assert p.time_s[-1] == pytest.approx(step.case.duration_s)
    assert "transient" in step.evidence["skin-tone"]
    assert step.sources["floor"] and step.sources["target_band"] and step.aftercare
    data = planned.to_json_dict()
    assert data["steps"][0]["margins"]["to_floor_k"] >= 0
    assert data["steps"][0]["curves"]["surface_c"]


def test_exported_cases_re_simulate_to_the_prediction(planned: Plan, tmp_path: Path) -> None:
    for step in planned.steps:
        path = tmp_path / f"{step.zone}.toml"
        path.write_text(case_to_toml(step.case), encoding="utf-8")
        result = cryoderm.simulate(cryoderm.load_case(path))
        assert result.ok
        surface = np.asarray(result.probes["surface"])
        time = np.asarray(result.time_s)
        exposed = time <= step.duration_s + 1e-9
        low, high = step.band_c
        assert np.any(exposed & (surface >= low) & (surface <= high)), "reaches its band"
        assert surface.min() >= step.floor_temp_c
        assert result.metrics["min_surface_temp_c"] >= step.floor_temp_c
        assert result.safety["freeze_risk_time_s"] is None
        assert surface.min() == pytest.approx(min(step.prediction.surface_c), abs=1e-6)


def test_ln2_steps_target_the_fda_cleared_band() -> None:
    result = plan(PlanRequest(goals=("pores",), zones=("forehead",), modality="ln2-vapour"))
    step = result.steps[0]
    assert step.band_c == (2.0, 4.0) and step.floor_temp_c == 2.0
    assert result.screening == "not screened" and "not been screened" in result.notes[0]
    assert any("No evidence supports the goal 'pores'" in note for note in result.notes)


def test_do_not_treat_gets_no_plan() -> None:
    verdict = verdict_for(["cold-urticaria"], "cold-air", ("cheek",))
    with pytest.raises(TreatmentNotPermitted, match="Cold urticaria or cold hypersensitivity"):
        plan(
            PlanRequest(
                goals=("skin-tone",), zones=("cheek",), modality="cold-air", verdict=verdict
            )
        )


def test_refer_without_sign_off_is_pending() -> None:
    verdict = verdict_for(["anticoagulants"], "contact", ("cheek",))
    request = PlanRequest(
        goals=("inflammation",), zones=("cheek",), modality="contact", verdict=verdict
    )
    pending = plan(request)
    assert pending.pending_sign_off and pending.screening == "refer"
    assert any("anticoagulants" in p.lower() for p in pending.steps[0].precautions)
    from dataclasses import replace

    assert not plan(replace(request, referral_signed_off=True)).pending_sign_off


def test_no_safe_protocol_names_the_nearest_candidate_and_why() -> None:
    # A measured 4 mm dermis on the nose insulates so little that cold air cannot reach 8-12 C
    # within the nose's 90 s limit.
    result = plan(
        PlanRequest(
            goals=("skin-tone",),
            zones=("nose",),
            modality="cold-air",
            thickness_overrides_mm={"nose": {"dermis": 4.0}},
        )
    )
    step = result.steps[0]
    assert not result.feasible and step.status == "no-safe-protocol"
    assert step.prediction.failures and "does not reach the band" in step.prediction.failures[0]
    assert step.prediction.delivery.approach.air_speed_m_s == 8.0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"goals": ("glow",)}, "goal"),
        ({"zones": ("ear",)}, "zone"),
        ({"modality": "cryo-chamber"}, "modality"),
        ({"zones": ()}, "zones"),
        ({"zones": ("cheek", "cheek")}, "zones"),
        ({"thickness_overrides_mm": {"chin": {"dermis": 1.0}}}, "thickness_overrides_mm"),
        ({"goals": ("under-eye-puffiness",)}, "zone"),
    ],
)
def test_bad_requests_are_user_errors(changes: dict[str, object], field: str) -> None:
    base = {"goals": ("skin-tone",), "zones": ("cheek",), "modality": "cold-air"}
    with pytest.raises(InvalidAnswer) as caught:
        plan(PlanRequest(**{**base, **changes}))  # type: ignore[arg-type]
    assert caught.value.field == field


def test_a_minor_is_planned_on_the_mean_adult_tables_with_a_note() -> None:
    result = plan(
        PlanRequest(goals=("skin-tone",), zones=("cheek",), modality="contact", age_years=16)
    )
    assert result.feasible
    assert any("outside the adult skin-thickness tables" in note for note in result.notes)
    assert result.steps[0].case.tissue.age_years is None
