"""The screening rulebook (``data/contraindications.toml``) as frozen value objects.

Grades, from least to most strict: ``clear`` < ``precautions`` < ``refer`` <
``do-not-treat``. Every rule carries its reason, its source, where sources disagree, and
what would change the grade (keys of data/references.toml).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from typing import Any, Literal

from cryoderm.data import load_table

Grade = Literal["clear", "precautions", "refer", "do-not-treat"]
GRADES: tuple[Grade, ...] = ("clear", "precautions", "refer", "do-not-treat")


def strictness(grade: str) -> int:
    """0 for clear up to 3 for do-not-treat."""
    return GRADES.index(grade)  # type: ignore[arg-type]


def strictest(grades: list[Grade] | tuple[Grade, ...]) -> Grade:
    return max(grades, key=strictness, default="clear")


@dataclass(frozen=True)
class Rule:
    """One screening rule.

    kind: "condition" (the client names it), "procedure" (recent-procedure with waiting
    periods) or "answer" (age, blood pressure, skin type, zone and modality rules).
    scope: "client" or "area" (conditions only). zones/modalities: the rule applies only
    when treating these (empty: always). modality_grades: per-modality replacement grade.
    params: the rule's numeric parameters (max_age_years, max_systolic_mmhg, ...)."""

    id: str
    kind: Literal["condition", "procedure", "answer"]
    label: str
    grade: Grade
    reason: str
    source: str
    disagreement: str
    would_change: str
    scope: Literal["client", "area"] = "client"
    zones: tuple[str, ...] = ()
    modalities: tuple[str, ...] = ()
    modality_grades: Mapping[str, Grade] = field(default_factory=dict)
    params: Mapping[str, float] = field(default_factory=dict)

    def grade_for(self, modality: str | None) -> Grade:
        """The default grade for one modality; for None, the strictest over all modalities."""
        if modality is None:
            return strictest([self.grade, *self.modality_grades.values()])
        return self.modality_grades.get(modality, self.grade)


@dataclass(frozen=True)
class WaitingPeriod:
    """Days to wait after a procedure of this kind before cold treatment."""

    kind: str
    days: int
    source: str
    evidence: str


@dataclass(frozen=True, eq=False)
class Rulebook:
    rules: Mapping[str, Rule]
    waiting_periods: Mapping[str, WaitingPeriod]
    zones: tuple[str, ...]
    modalities: tuple[str, ...]

    @property
    def conditions(self) -> Mapping[str, Rule]:
        return {k: r for k, r in self.rules.items() if r.kind == "condition"}

    @property
    def condition_ids(self) -> tuple[str, ...]:
        """The identifiers a client may name under ``conditions``."""
        return tuple(self.conditions)

    @property
    def procedure_kinds(self) -> tuple[str, ...]:
        return tuple(self.waiting_periods)


_PARAMS = ("max_age_years", "max_systolic_mmhg", "max_diastolic_mmhg", "min_fitzpatrick")


def _rule(row: Mapping[str, Any], kind: str, modalities: tuple[str, ...]) -> Rule:
    grades = {m: g for m, g in row.get("modality_grades", {}).items()}
    for grade in [row["grade"], *grades.values()]:
        if grade not in GRADES:
            raise ValueError(f"contraindications: {row['id']} has unknown grade {grade!r}")
    if set(grades) - set(modalities):
        raise ValueError(f"contraindications: {row['id']} grades an unknown modality")
    return Rule(
        id=row["id"],
        kind=kind,  # type: ignore[arg-type]
        label=row["label"],
        grade=row["grade"],
        reason=row["reason"],
        source=row["source"],
        disagreement=row.get("disagreement", ""),
        would_change=row["would_change"],
        scope=row.get("scope", "client"),
        zones=tuple(row.get("zones", ())),
        modalities=tuple(row.get("modalities", ())),
        modality_grades=MappingProxyType(grades),
        params=MappingProxyType({p: float(row[p]) for p in _PARAMS if p in row}),
    )


def build_rulebook(
    table: Mapping[str, Any], zones: tuple[str, ...], modalities: tuple[str, ...]
) -> Rulebook:
    """Build and check the rulebook from a parsed contraindications table (pure)."""
    rules: dict[str, Rule] = {}
    for row in table["condition"]:
        kind = "procedure" if row["id"] == "recent-procedure" else "condition"
        rules[row["id"]] = _rule(row, kind, modalities)
    for row in table["rule"]:
        rules[row["id"]] = _rule(row, "answer", modalities)
    for rule in rules.values():
        if set(rule.zones) - set(zones) or set(rule.modalities) - set(modalities):
            raise ValueError(f"contraindications: {rule.id} names an unknown zone or modality")
    periods = {
        row["kind"]: WaitingPeriod(row["kind"], int(row["days"]), row["source"], row["evidence"])
        for row in table["waiting_period"]
    }
    return Rulebook(MappingProxyType(rules), MappingProxyType(periods), zones, modalities)


@cache
def load_rulebook() -> Rulebook:
    """The package's screening rulebook, cached per process."""
    thresholds = load_table("thresholds")
    return build_rulebook(
        load_table("contraindications"),
        tuple(thresholds["zones"]),
        tuple(thresholds["modalities"]),
    )
