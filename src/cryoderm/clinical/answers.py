"""A client's screening answers: parsed, validated, frozen.

Two input shapes are accepted:

* the plain JSON shape (more keys allowed and ignored)::

    {"age_years": 42, "sex": "female", "fitzpatrick": 3, "blood_pressure_mmhg": [128, 82],
     "conditions": ["raynauds", {"id": "open-wound-in-area", "zones": ["chin"]}],
     "recent_procedures": [{"kind": "chemical-peel", "date": "2026-11-20"}]}

* a FHIR QuestionnaireResponse to ``data/questionnaire.json`` (linkIds are the keys above
  and the condition identifiers).

Anything unknown or malformed raises :class:`InvalidAnswer` naming the field: an answer is
never silently read as "clear".
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from cryoderm.clinical.errors import InvalidAnswer
from cryoderm.clinical.rules import load_rulebook


@dataclass(frozen=True)
class ConditionAnswer:
    """A condition the client has. zones: the affected zones for an "area" condition
    (empty: not said, so every zone counts as affected)."""

    id: str
    zones: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecentProcedure:
    """An aesthetic procedure the client had: kind (chemical-peel, laser, filler, toxin,
    microneedling) on date."""

    kind: str
    date: datetime.date


@dataclass(frozen=True)
class ScreeningAnswers:
    """One client's answers.

    age_years: 0-120. sex: "female" | "male" | None (selects zone tissue tables).
    fitzpatrick: skin type 1-6 or None (not recorded). blood_pressure_mmhg: (systolic,
    diastolic) or None (not measured). conditions: what the client has, by identifier.
    recent_procedures: aesthetic procedures with their dates."""

    age_years: float
    conditions: tuple[ConditionAnswer, ...] = ()
    sex: Literal["female", "male"] | None = None
    fitzpatrick: int | None = None
    blood_pressure_mmhg: tuple[float, float] | None = None
    recent_procedures: tuple[RecentProcedure, ...] = ()

    @property
    def condition_ids(self) -> frozenset[str]:
        return frozenset(c.id for c in self.conditions)

    def to_json_dict(self) -> dict[str, Any]:
        """The plain JSON shape; ``parse_answers(a.to_json_dict()) == a``."""
        return {
            "age_years": self.age_years,
            "sex": self.sex,
            "fitzpatrick": self.fitzpatrick,
            "blood_pressure_mmhg": list(self.blood_pressure_mmhg)
            if self.blood_pressure_mmhg
            else None,
            "conditions": [
                {"id": c.id, "zones": list(c.zones)} if c.zones else c.id for c in self.conditions
            ],
            "recent_procedures": [
                {"kind": p.kind, "date": p.date.isoformat()} for p in self.recent_procedures
            ],
        }


def parse_answers(mapping: Mapping[str, Any]) -> ScreeningAnswers:
    """Validate a plain answers mapping or a FHIR QuestionnaireResponse (by resourceType)."""
    if not isinstance(mapping, Mapping):
        raise InvalidAnswer("answers", type(mapping).__name__, "a JSON object")
    if mapping.get("resourceType") == "QuestionnaireResponse":
        from cryoderm.clinical.questionnaire import response_to_plain

        mapping = response_to_plain(mapping)
    return _parse_plain(mapping)


def _parse_plain(data: Mapping[str, Any]) -> ScreeningAnswers:
    if "age_years" not in data:
        raise InvalidAnswer("age_years", None, "required: the client's age in years, 0-120")
    if "conditions" not in data:
        raise InvalidAnswer(
            "conditions", None, "required: a list of condition identifiers ([] if none)"
        )
    return ScreeningAnswers(
        age_years=_number(data["age_years"], "age_years", 0.0, 120.0, "years"),
        sex=_sex(data.get("sex")),
        fitzpatrick=_fitzpatrick(data.get("fitzpatrick")),
        blood_pressure_mmhg=_blood_pressure(data.get("blood_pressure_mmhg")),
        conditions=_conditions(data["conditions"]),
        recent_procedures=_procedures(data.get("recent_procedures", [])),
    )


def _number(value: Any, field: str, low: float, high: float, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidAnswer(field, value, f"a number from {low:g} to {high:g}", unit)
    if not low <= value <= high:
        raise InvalidAnswer(field, value, f"from {low:g} to {high:g}", unit)
    return float(value)


def _sex(value: Any) -> Literal["female", "male"] | None:
    if value is None:
        return None
    if value == "female":
        return "female"
    if value == "male":
        return "male"
    raise InvalidAnswer("sex", value, "one of female, male (or omitted)")


def _fitzpatrick(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 6:
        raise InvalidAnswer("fitzpatrick", value, "a whole number from 1 to 6 (or omitted)")
    return value


def _blood_pressure(value: Any) -> tuple[float, float] | None:
    if value is None:
        return None
    field = "blood_pressure_mmhg"
    if isinstance(value, str | bytes) or not isinstance(value, Sequence) or len(value) != 2:
        raise InvalidAnswer(field, value, "[systolic, diastolic]", "mmHg")
    systolic = _number(value[0], f"{field}[0]", 50.0, 300.0, "mmHg")
    diastolic = _number(value[1], f"{field}[1]", 20.0, 200.0, "mmHg")
    if diastolic >= systolic:
        raise InvalidAnswer(field, list(value), "systolic must be above diastolic", "mmHg")
    return (systolic, diastolic)


def _conditions(value: Any) -> tuple[ConditionAnswer, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise InvalidAnswer("conditions", value, "a list of condition identifiers")
    rulebook = load_rulebook()
    known = rulebook.condition_ids
    parsed: dict[str, ConditionAnswer] = {}
    for index, item in enumerate(value):
        field = f"conditions[{index}]"
        if isinstance(item, Mapping):
            ident, zones = item.get("id"), item.get("zones", [])
            extra = set(item) - {"id", "zones"}
            if extra:
                raise InvalidAnswer(f"{field}.{sorted(extra)[0]}", item, "allowed keys: id, zones")
        else:
            ident, zones = item, []
        if ident == "recent-procedure":
            raise InvalidAnswer(
                field, ident, "give recent procedures under recent_procedures, with kind and date"
            )
        if not isinstance(ident, str) or ident not in known:
            raise InvalidAnswer(field, ident, "unknown condition; known: " + ", ".join(known))
        parsed[ident] = ConditionAnswer(ident, _zones(zones, f"{field}.zones", ident))
    return tuple(parsed.values())


def _zones(value: Any, field: str, ident: str) -> tuple[str, ...]:
    rulebook = load_rulebook()
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise InvalidAnswer(field, value, "a list of zones")
    if value and rulebook.conditions[ident].scope != "area":
        raise InvalidAnswer(field, list(value), f"{ident} applies to the whole client, not zones")
    for zone in value:
        if zone not in rulebook.zones:
            raise InvalidAnswer(field, zone, "one of " + ", ".join(rulebook.zones))
    return tuple(dict.fromkeys(value))


def _procedures(value: Any) -> tuple[RecentProcedure, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise InvalidAnswer("recent_procedures", value, "a list of {kind, date}")
    kinds = load_rulebook().procedure_kinds
    parsed = []
    for index, item in enumerate(value):
        field = f"recent_procedures[{index}]"
        if not isinstance(item, Mapping) or set(item) != {"kind", "date"}:
            raise InvalidAnswer(field, item, 'an object {"kind": ..., "date": "YYYY-MM-DD"}')
        if item["kind"] not in kinds:
            raise InvalidAnswer(f"{field}.kind", item["kind"], "one of " + ", ".join(kinds))
        try:
            date = datetime.date.fromisoformat(str(item["date"]))
        except ValueError:
            raise InvalidAnswer(f"{field}.date", item["date"], "a date YYYY-MM-DD") from None
        parsed.append(RecentProcedure(item["kind"], date))
    return tuple(parsed)
