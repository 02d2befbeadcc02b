"""Screening answers: the plain JSON shape, FHIR QuestionnaireResponse, and bad answers.
A bad answer is always an error that names its field, never a silent "clear"."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest
from fhir.resources.questionnaire import Questionnaire
from fhir.resources.questionnaireresponse import QuestionnaireResponse
from hypothesis import given
from hypothesis import strategies as st

from cryoderm.clinical.answers import ConditionAnswer, RecentProcedure, parse_answers
from cryoderm.clinical.errors import InvalidAnswer
from cryoderm.clinical.questionnaire import build_questionnaire
from cryoderm.clinical.rules import load_rulebook
from cryoderm.errors import UserInputError

ISSUE_EXAMPLE: dict[str, Any] = {
    "age_years": 42,
    "sex": "female",
    "fitzpatrick": 3,
    "blood_pressure_mmhg": [128, 82],
    "conditions": ["raynauds"],
    "recent_procedures": [{"kind": "chemical-peel", "date": "2026-11-20"}],
    "client_ref": "extra keys are allowed",
}


def test_the_issue_example_parses() -> None:
    parsed = parse_answers(ISSUE_EXAMPLE)
    assert parsed.age_years == 42.0 and parsed.sex == "female" and parsed.fitzpatrick == 3
    assert parsed.blood_pressure_mmhg == (128.0, 82.0)
    assert parsed.conditions == (ConditionAnswer("raynauds"),)
    assert parsed.recent_procedures[0] == RecentProcedure(
        "chemical-peel", __import__("datetime").date(2026, 11, 20)
    )
    assert parse_answers(parsed.to_json_dict()) == parsed


BAD = [
    ({"conditions": ["raynaud"]}, "conditions[0]"),
    ({"conditions": ["recent-procedure"]}, "conditions[0]"),
    ({"conditions": "raynauds"}, "conditions"),
    ({"conditions": [{"id": "open-wound-in-area", "zones": ["elbow"]}]}, "conditions[0].zones"),
    ({"conditions": [{"id": "raynauds", "zones": ["cheek"]}]}, "conditions[0].zones"),
    ({"conditions": [{"id": "raynauds", "severity": "mild"}]}, "conditions[0].severity"),
    ({"age_years": "forty"}, "age_years"),
    ({"age_years": -1}, "age_years"),
    ({"age_years": True}, "age_years"),
    ({"sex": "x"}, "sex"),
    ({"fitzpatrick": 7}, "fitzpatrick"),
    ({"fitzpatrick": 2.5}, "fitzpatrick"),
    ({"blood_pressure_mmhg": [120]}, "blood_pressure_mmhg"),
    ({"blood_pressure_mmhg": [80, 120]}, "blood_pressure_mmhg"),
    ({"blood_pressure_mmhg": ["high", 80]}, "blood_pressure_mmhg[0]"),
    ({"recent_procedures": [{"kind": "botox", "date": "2026-11-01"}]}, "recent_procedures[0].kind"),
    ({"recent_procedures": [{"kind": "laser", "date": "yesterday"}]}, "recent_procedures[0].date"),
    ({"recent_procedures": [{"kind": "laser"}]}, "recent_procedures[0]"),
]


@pytest.mark.parametrize(("changes", "field"), BAD)
def test_bad_answers_name_their_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidAnswer) as caught:
        parse_answers({**ISSUE_EXAMPLE, **changes})
    assert caught.value.field == field
    assert isinstance(caught.value, UserInputError)
    assert field in str(caught.value)


@pytest.mark.parametrize("missing", ["age_years", "conditions"])
def test_required_answers_are_required(missing: str) -> None:
    data = {k: v for k, v in ISSUE_EXAMPLE.items() if k != missing}
    with pytest.raises(InvalidAnswer, match="required"):
        parse_answers(data)


def test_shipped_questionnaire_is_the_rulebook_build_and_valid_fhir() -> None:
    shipped = json.loads(
        resources.files("cryoderm.data").joinpath("questionnaire.json").read_text(encoding="utf-8")
    )
    assert shipped == build_questionnaire()
    Questionnaire.model_validate(shipped)
    condition_group = next(i for i in shipped["item"] if i["linkId"] == "conditions")
    assert "cold-urticaria" in {i["linkId"] for i in condition_group["item"]}


def _response(conditions: list[dict[str, Any]], *, answer_the_rest: bool = True) -> dict[str, Any]:
    """A completed response; the conditions not given are answered false."""
    given = {c["linkId"] for c in conditions}
    rest = [
        {"linkId": c, "answer": [{"valueBoolean": False}]}
        for c in load_rulebook().condition_ids
        if c not in given and answer_the_rest
    ]
    return {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": "Questionnaire/cryoderm-screening",
        "item": [
            {"linkId": "age_years", "answer": [{"valueDecimal": 35}]},
            {"linkId": "sex", "answer": [{"valueCoding": {"code": "male"}}]},
            {"linkId": "fitzpatrick", "answer": [{"valueInteger": 4}]},
            {
                "linkId": "blood_pressure_mmhg",
                "item": [
                    {"linkId": "blood_pressure_mmhg.systolic", "answer": [{"valueDecimal": 130}]},
                    {"linkId": "blood_pressure_mmhg.diastolic", "answer": [{"valueDecimal": 85}]},
                ],
            },
            {"linkId": "conditions", "item": [*conditions, *rest]},
            {
                "linkId": "recent_procedures",
                "item": [
                    {
                        "linkId": "recent_procedures.kind",
                        "answer": [{"valueCoding": {"code": "laser"}}],
                    },
                    {"linkId": "recent_procedures.date", "answer": [{"valueDate": "2026-10-01"}]},
                ],
            },
        ],
    }


def test_fhir_questionnaire_response_parses_like_the_plain_shape() -> None:
    response = _response(
        [
            {"linkId": "raynauds", "answer": [{"valueBoolean": False}]},
            {
                "linkId": "open-wound-in-area",
                "answer": [
                    {
                        "valueBoolean": True,
                        "item": [
                            {
                                "linkId": "open-wound-in-area.zones",
                                "answer": [{"valueCoding": {"code": "chin"}}],
                            }
                        ],
                    }
                ],
            },
        ]
    )
    QuestionnaireResponse.model_validate(response)
    parsed = parse_answers(response)
    assert parsed.sex == "male" and parsed.fitzpatrick == 4
    assert parsed.blood_pressure_mmhg == (130.0, 85.0)
    assert parsed.conditions == (ConditionAnswer("open-wound-in-area", ("chin",)),)
    assert parsed.recent_procedures[0].kind == "laser"


@pytest.mark.parametrize(
    ("conditions", "field"),
    [
        ([{"linkId": "cold-allergy", "answer": [{"valueBoolean": True}]}], "item[cold-allergy]"),
        ([{"linkId": "raynauds", "answer": [{"valueString": "yes"}]}], "item[raynauds]"),
        ([{"linkId": "raynauds"}], "item[raynauds]"),
    ],
)
def test_bad_fhir_answers_are_errors(conditions: list[dict[str, Any]], field: str) -> None:
    with pytest.raises(InvalidAnswer) as caught:
        parse_answers(_response(conditions))
    assert caught.value.field == field


def test_unknown_fhir_link_id_is_an_error() -> None:
    response = _response([])
    response["item"].append({"linkId": "smoker", "answer": [{"valueBoolean": True}]})
    with pytest.raises(InvalidAnswer, match="unknown linkId"):
        parse_answers(response)


def test_an_unanswered_condition_is_an_error_not_a_no() -> None:
    response = _response(
        [{"linkId": "raynauds", "answer": [{"valueBoolean": False}]}], answer_the_rest=False
    )
    with pytest.raises(InvalidAnswer, match="required"):
        parse_answers(response)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-10, 400)
    | st.floats(allow_nan=True)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


@given(
    field=st.sampled_from(
        [
            "age_years",
            "sex",
            "fitzpatrick",
            "blood_pressure_mmhg",
            "conditions",
            "recent_procedures",
        ]
    ),
    value=json_values,
)
def test_any_malformed_answer_is_an_invalid_answer_never_a_crash(field: str, value: object) -> None:
    try:
        parsed = parse_answers({**ISSUE_EXAMPLE, field: value})
    except InvalidAnswer:
        return
    # Whatever was accepted is a well-formed answer set.
    assert parse_answers(parsed.to_json_dict()) == parsed


def test_fhir_item_without_a_string_link_id_is_an_error() -> None:
    response = {
        "resourceType": "QuestionnaireResponse",
        "item": [{"linkId": "blood_pressure_mmhg", "item": [{"linkId": []}]}],
    }
    with pytest.raises(InvalidAnswer, match="string linkId"):
        parse_answers(response)
