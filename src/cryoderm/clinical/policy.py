"""A clinic's screening policy: its own grades and waiting periods (sources grade conditions differently).

Sources disagree on how strict some contraindications are; cryoderm's default is the
stricter reading. A clinic may re-grade rules and set its own waiting periods, but it may
not lower a rule that every source found grades absolute (``disagreement`` empty and
``do-not-treat``): there is no reading to appeal to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from cryoderm.clinical.errors import InvalidAnswer
from cryoderm.clinical.rules import GRADES, Grade, Rule, load_rulebook, strictness


@dataclass(frozen=True)
class ScreeningPolicy:
    """name: shown in every verdict. grade_overrides: rule id -> grade.
    waiting_period_days: procedure kind -> days (0 or more)."""

    name: str = "cryoderm default (stricter reading)"
    grade_overrides: Mapping[str, Grade] = field(default_factory=dict)
    waiting_period_days: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        rulebook = load_rulebook()
        for rule_id, grade in self.grade_overrides.items():
            if rule_id not in rulebook.rules:
                raise InvalidAnswer(
                    f"grade_overrides.{rule_id}",
                    rule_id,
                    "unknown rule; see `cryoderm screen --list`",
                )
            if grade not in GRADES:
                raise InvalidAnswer(
                    f"grade_overrides.{rule_id}", grade, "one of " + ", ".join(GRADES)
                )
            rule = rulebook.rules[rule_id]
            lowered = strictness(grade) < strictness(rule.grade)
            if lowered and rule.grade == "do-not-treat" and not rule.disagreement:
                raise InvalidAnswer(
                    f"grade_overrides.{rule_id}",
                    grade,
                    "absolute in every source found; a policy may not lower it",
                )
        for kind, days in self.waiting_period_days.items():
            if kind not in rulebook.waiting_periods:
                raise InvalidAnswer(
                    f"waiting_period_days.{kind}",
                    kind,
                    "one of " + ", ".join(rulebook.procedure_kinds),
                )
            if isinstance(days, bool) or not isinstance(days, int) or days < 0:
                raise InvalidAnswer(
                    f"waiting_period_days.{kind}", days, "a whole number >= 0", "days"
                )
        object.__setattr__(self, "grade_overrides", MappingProxyType(dict(self.grade_overrides)))
        object.__setattr__(
            self, "waiting_period_days", MappingProxyType(dict(self.waiting_period_days))
        )

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ScreeningPolicy:
        """From a clinic's configuration: {"name", "grade_overrides", "waiting_period_days"}."""
        if not isinstance(data, Mapping):
            raise InvalidAnswer("policy", data, "a JSON object")
        extra = set(data) - {"name", "grade_overrides", "waiting_period_days"}
        if extra:
            raise InvalidAnswer(
                f"policy.{sorted(extra)[0]}",
                data,
                "allowed keys: name, grade_overrides, waiting_period_days",
            )
        for key in ("grade_overrides", "waiting_period_days"):
            if not isinstance(data.get(key, {}), Mapping):
                raise InvalidAnswer(f"policy.{key}", data[key], "a JSON object")
        return cls(
            name=str(data.get("name", "clinic policy")),
            grade_overrides=dict(data.get("grade_overrides", {})),
            waiting_period_days=dict(data.get("waiting_period_days", {})),
        )

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "grade_overrides": dict(self.grade_overrides),
            "waiting_period_days": dict(self.waiting_period_days),
        }

    def grade(self, rule: Rule, modality: str | None) -> Grade:
        """The grade this clinic gives the rule (its override, else the sourced default)."""
        return self.grade_overrides.get(rule.id, rule.grade_for(modality))

    def waiting_days(self, kind: str) -> int:
        return self.waiting_period_days.get(kind, load_rulebook().waiting_periods[kind].days)


DEFAULT_POLICY = ScreeningPolicy()
