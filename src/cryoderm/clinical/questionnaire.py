"""The screening questionnaire as a FHIR Questionnaire, and QuestionnaireResponse parsing.

The questionnaire is built from the rulebook (``data/contraindications.toml``), so its
linkIds are exactly the condition identifiers; ``data/questionnaire.json`` is that build,
shipped for other systems (a test keeps the two equal). linkIds: ``age_years``, ``sex``,
``fitzpatrick``, ``blood_pressure_mmhg`` (group: ``.systolic``, ``.diastolic``),
``conditions`` (group of booleans, one per condition; an area condition has a child
``<id>.zones``), ``recent_procedures`` (repeating group: ``.kind``, ``.date``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cryoderm.clinical.errors import InvalidAnswer
from cryoderm.clinical.rules import load_rulebook

QUESTIONNAIRE_ID = "cryoderm-screening"


def _coding(code: str) -> dict[str, Any]:
    return {"valueCoding": {"code": code, "display": code}}


def build_questionnaire() -> dict[str, Any]:
    """The FHIR R5 Questionnaire (as JSON) for cryotherapy screening."""
    rulebook = load_rulebook()
    condition_items = []
    for rule in rulebook.conditions.values():
        item: dict[str, Any] = {
            "linkId": rule.id,
            "text": rule.label,
            "type": "boolean",
            "required": True,
        }
        if rule.scope == "area":
            item["item"] = [
                {
                    "linkId": f"{rule.id}.zones",
                    "text": "Which zones are affected? (none: all zones count as affected)",
                    "type": "coding",
                    "repeats": True,
                    "answerOption": [_coding(z) for z in rulebook.zones],
                }
            ]
        condition_items.append(item)
    return {
        "resourceType": "Questionnaire",
        "id": QUESTIONNAIRE_ID,
        "name": "CryodermScreening",
        "title": "Facial cryotherapy screening",
        "status": "active",
        "description": "Contraindication screening for facial cryotherapy; rules and sources in "
        "cryoderm's data/contraindications.toml.",
        "item": [
            {"linkId": "age_years", "text": "Age (years)", "type": "decimal", "required": True},
            {
                "linkId": "sex",
                "text": "Sex (selects the skin-thickness tables)",
                "type": "coding",
                "answerOption": [_coding("female"), _coding("male")],
            },
            {"linkId": "fitzpatrick", "text": "Fitzpatrick skin type (1-6)", "type": "integer"},
            {
                "linkId": "blood_pressure_mmhg",
                "text": "Blood pressure measured today (mmHg)",
                "type": "group",
                "item": [
                    {
                        "linkId": "blood_pressure_mmhg.systolic",
                        "text": "Systolic",
                        "type": "decimal",
                    },
                    {
                        "linkId": "blood_pressure_mmhg.diastolic",
                        "text": "Diastolic",
                        "type": "decimal",
                    },
                ],
            },
            {
                "linkId": "conditions",
                "text": "Does the client have any of these?",
                "type": "group",
                "required": True,
                "item": condition_items,
            },
            {
                "linkId": "recent_procedures",
                "text": "Aesthetic procedures in the last months",
                "type": "group",
                "repeats": True,
                "item": [
                    {
                        "linkId": "recent_procedures.kind",
                        "text": "Procedure",
                        "type": "coding",
                        "answerOption": [_coding(k) for k in rulebook.procedure_kinds],
                    },
                    {"linkId": "recent_procedures.date", "text": "Date", "type": "date"},
                ],
            },
        ],
    }


_VALUE_KEYS = ("valueDecimal", "valueInteger", "valueBoolean", "valueDate", "valueString")


def _value(answer: Any, field: str) -> Any:
    if not isinstance(answer, Mapping):
        raise InvalidAnswer(field, answer, "a FHIR answer object")
    if "valueCoding" in answer:
        coding = answer["valueCoding"]
        return coding.get("code") if isinstance(coding, Mapping) else coding
    for key in _VALUE_KEYS:
        if key in answer:
            return answer[key]
    raise InvalidAnswer(
        field, dict(answer), "an answer with one of valueCoding, " + ", ".join(_VALUE_KEYS)
    )


def _items(node: Mapping[str, Any], field: str) -> list[Mapping[str, Any]]:
    items = node.get("item", [])
    if (
        isinstance(items, str | bytes)
        or not isinstance(items, Sequence)
        or not all(isinstance(i, Mapping) and isinstance(i.get("linkId"), str) for i in items)
    ):
        raise InvalidAnswer(field, items, "a list of items, each with a string linkId")
    return list(items)


def _answers(item: Mapping[str, Any], field: str) -> list[Any]:
    answers = item.get("answer", [])
    if not isinstance(answers, Sequence):
        raise InvalidAnswer(field, answers, "a list of answers")
    return [_value(a, field) for a in answers]


def _single(item: Mapping[str, Any], field: str) -> Any:
    values = _answers(item, field)
    if len(values) > 1:
        raise InvalidAnswer(field, values, "a single answer")
    return values[0] if values else None


def _children(item: Mapping[str, Any], field: str) -> list[Mapping[str, Any]]:
    """Child items of a group, or of a question (FHIR nests those under answer.item)."""
    children = _items(item, field)
    for answer in item.get("answer", []):
        if isinstance(answer, Mapping):
            children += _items(answer, field)
    return children


def response_to_plain(resource: Mapping[str, Any]) -> dict[str, Any]:
    """A QuestionnaireResponse to the plain answers shape; unknown linkIds are errors."""
    rulebook = load_rulebook()
    plain: dict[str, Any] = {"recent_procedures": []}
    for item in _items(resource, "item"):
        link = item["linkId"]
        field = f"item[{link}]"
        if link in ("age_years", "sex", "fitzpatrick"):
            value = _single(item, field)
            if value is not None:
                plain[link] = value
        elif link == "blood_pressure_mmhg":
            parts = {
                c["linkId"]: _single(c, f"item[{c['linkId']}]") for c in _children(item, field)
            }
            unknown = set(parts) - {f"{link}.systolic", f"{link}.diastolic"}
            if unknown:
                raise InvalidAnswer(
                    f"item[{sorted(unknown)[0]}]", sorted(unknown)[0], "unknown linkId"
                )
            plain[link] = [parts.get(f"{link}.systolic"), parts.get(f"{link}.diastolic")]
        elif link == "conditions":
            plain["conditions"] = _conditions(item, rulebook.condition_ids)
        elif link == "recent_procedures":
            parts = {
                c["linkId"]: _single(c, f"item[{c['linkId']}]") for c in _children(item, field)
            }
            plain["recent_procedures"].append(
                {"kind": parts.get(f"{link}.kind"), "date": parts.get(f"{link}.date")}
            )
        else:
            raise InvalidAnswer(
                field, link, "unknown linkId of the cryoderm screening questionnaire"
            )
    return plain


def _conditions(group: Mapping[str, Any], known: tuple[str, ...]) -> list[Any]:
    conditions: list[Any] = []
    items = _children(group, "item[conditions]")
    # Every condition is a required question: an unanswered one must not read as "no".
    unanswered = [c for c in known if c not in {i["linkId"] for i in items}]
    if unanswered:
        raise InvalidAnswer(
            f"item[{unanswered[0]}]",
            None,
            "required: every condition must be answered true or false",
        )
    for item in items:
        ident = item["linkId"]
        field = f"item[{ident}]"
        if ident not in known:
            raise InvalidAnswer(field, ident, "unknown condition; known: " + ", ".join(known))
        value = _single(item, field)
        if value is None:
            raise InvalidAnswer(field, None, "required: answer true or false")
        if not isinstance(value, bool):
            raise InvalidAnswer(field, value, "true or false (valueBoolean)")
        if not value:
            continue
        zones = [
            zone
            for child in _children(item, field)
            if child["linkId"] == f"{ident}.zones"
            for zone in _answers(child, f"item[{ident}.zones]")
        ]
        conditions.append({"id": ident, "zones": zones} if zones else ident)
    return conditions
