"""Screening: a client's answers -> a verdict that explains itself.

    verdict = screen(parse_answers(data), modality="ln2-vapour", zones=("cheek",))
    verdict.outcome      # "do-not-treat" | "refer" | "precautions" | "clear"
    verdict.findings     # which answer triggered which rule, why, source, what would change it

The outcome is the strictest grade among the findings (no finding: "clear"). Rules, grades
and sources live in ``data/contraindications.toml``; a clinic's :class:`ScreeningPolicy`
may re-grade them (sources disagree on grades: data/contraindications.toml).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryoderm.clinical.answers import ScreeningAnswers
from cryoderm.clinical.errors import InvalidAnswer
from cryoderm.clinical.policy import DEFAULT_POLICY, ScreeningPolicy
from cryoderm.clinical.rules import (
    GRADES,
    Grade,
    Rule,
    Rulebook,
    load_rulebook,
    strictest,
    strictness,
)
from cryoderm.data.citations import cite
from cryoderm.data.labels import label, label_list


@dataclass(frozen=True)
class Finding:
    """One rule triggered by the answers.

    grade: the grade applied (after the clinic's policy); default_grade: cryoderm's sourced
    default. triggered_by: the answer that triggered it, in the practitioner's words (labels,
    not identifiers). zones: the zones it concerns (empty: the whole client)."""

    rule_id: str
    condition: str
    grade: Grade
    default_grade: Grade
    triggered_by: str
    reason: str
    source: str
    disagreement: str
    would_change: str
    zones: tuple[str, ...] = ()

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "condition": self.condition,
            "grade": self.grade,
            "default_grade": self.default_grade,
            "triggered_by": self.triggered_by,
            "reason": self.reason,
            "source": self.source,
            "disagreement": self.disagreement,
            "would_change": self.would_change,
            "zones": list(self.zones),
        }

    @classmethod
    def from_json_dict(cls, data: Mapping[str, Any]) -> Finding:
        return cls(**{**data, "zones": tuple(data.get("zones", ()))})


@dataclass(frozen=True)
class Verdict:
    """The screening result. outcome: the strictest finding grade, or "clear".

    modality/zones: what was screened for (None: every modality / every zone).
    screened_on: the date the waiting periods were counted from."""

    outcome: Grade
    findings: tuple[Finding, ...]
    policy: str
    screened_on: datetime.date
    modality: str | None = None
    zones: tuple[str, ...] | None = None

    @property
    def needs_sign_off(self) -> bool:
        """A "refer" verdict: treatment needs a clinician's sign-off with a reason."""
        return self.outcome == "refer"

    @property
    def precautions(self) -> tuple[str, ...]:
        """One line per precaution or referral the practitioner must see."""
        return self.precautions_for(None)

    def precautions_for(self, zone: str | None) -> tuple[str, ...]:
        """The precautions and referrals that concern ``zone`` (None: all of them)."""
        return tuple(
            f"{f.condition}: {f.reason}"
            for f in self.findings
            if f.grade in ("precautions", "refer")
            and (zone is None or not f.zones or zone in f.zones)
        )

    def summary(self) -> str:
        """The verdict as a practitioner reads it: labels, sources as "Author Year"."""
        lines = [
            f"verdict: {label('grade', self.outcome)} (policy: {self.policy}, {self.screened_on})"
        ]
        for f in self.findings:
            lines.append(f"  [{label('grade', f.grade)}] {label('rule', f.rule_id)}")
            lines.append(f"      because: {f.triggered_by}; {cite(f.reason)}")
            lines.append(f"      source: {cite(f.source)}")
            if f.disagreement:
                lines.append(f"      sources disagree: {cite(f.disagreement)}")
            if f.grade != f.default_grade:
                lines.append(
                    f"      graded {label('grade', f.grade)} by the clinic's policy "
                    f"(cryoderm's default: {label('grade', f.default_grade)})"
                )
            lines.append(f"      would change: {cite(f.would_change)}")
        if not self.findings:
            lines.append("  no rule triggered by these answers")
        return "\n".join(lines)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "format": "cryoderm-verdict/1",
            "outcome": self.outcome,
            "needs_sign_off": self.needs_sign_off,
            "policy": self.policy,
            "screened_on": self.screened_on.isoformat(),
            "modality": self.modality,
            "zones": list(self.zones) if self.zones is not None else None,
            "findings": [f.to_json_dict() for f in self.findings],
        }

    @classmethod
    def from_json_dict(cls, data: Mapping[str, Any]) -> Verdict:
        """Rebuild a stored verdict (the inverse of :meth:`to_json_dict`)."""
        outcome = data.get("outcome")
        if outcome not in GRADES:
            raise InvalidAnswer("verdict.outcome", outcome, "one of " + ", ".join(GRADES))
        zones = data.get("zones")
        return cls(
            outcome=outcome,
            findings=tuple(Finding.from_json_dict(f) for f in data.get("findings", ())),
            policy=str(data.get("policy", "")),
            screened_on=datetime.date.fromisoformat(data["screened_on"]),
            modality=data.get("modality"),
            zones=tuple(zones) if zones is not None else None,
        )


def screen(
    answers: ScreeningAnswers,
    *,
    policy: ScreeningPolicy | None = None,
    modality: str | None = None,
    zones: Iterable[str] | None = None,
    today: datetime.date | None = None,
) -> Verdict:
    """Apply every rule to the answers for a treatment by ``modality`` on ``zones``.

    modality None: the strictest grade over all modalities. zones None: every zone counts
    as treated (area conditions apply in full). today: the date waiting periods are counted
    to (default: the local date)."""
    rulebook = load_rulebook()
    policy = policy or DEFAULT_POLICY
    today = today or datetime.date.today()
    if modality is not None and modality not in rulebook.modalities:
        raise InvalidAnswer("modality", modality, "one of " + ", ".join(rulebook.modalities))
    treated = _check_zones(zones, rulebook)
    findings = [
        *_condition_findings(answers, rulebook, policy, modality, treated),
        *_procedure_findings(answers, rulebook, policy, modality, today),
        *_answer_findings(answers, rulebook, policy, modality, treated),
    ]
    return Verdict(
        outcome=strictest([f.grade for f in findings]),
        findings=tuple(findings),
        policy=policy.name,
        screened_on=today,
        modality=modality,
        zones=treated,
    )


def _check_zones(zones: Iterable[str] | None, rulebook: Rulebook) -> tuple[str, ...] | None:
    if zones is None:
        return None
    treated = tuple(zones)
    for zone in treated:
        if zone not in rulebook.zones:
            raise InvalidAnswer("zones", zone, "one of " + ", ".join(rulebook.zones))
    return treated


def _finding(
    rule: Rule, grade: Grade, default: Grade, triggered_by: str, **changes: Any
) -> Finding:
    values: dict[str, Any] = {
        "rule_id": rule.id,
        "condition": rule.label,
        "grade": grade,
        "default_grade": default,
        "triggered_by": triggered_by,
        "reason": rule.reason,
        "source": rule.source,
        "disagreement": rule.disagreement,
        "would_change": rule.would_change,
    }
    values.update(changes)
    return Finding(**values)


def _condition_findings(
    answers: ScreeningAnswers,
    rulebook: Rulebook,
    policy: ScreeningPolicy,
    modality: str | None,
    treated: tuple[str, ...] | None,
) -> list[Finding]:
    findings = []
    for answer in answers.conditions:
        rule = rulebook.rules[answer.id]
        grade, default = policy.grade(rule, modality), rule.grade_for(modality)
        trigger = "the client answered yes"
        if rule.scope == "area" and answer.zones:
            trigger += f", affecting {label_list('zone', answer.zones)}"
            spared = treated is not None and not set(answer.zones) & set(treated)
            if spared:
                # The affected area is not treated: the rule becomes a precaution to keep
                # the cold away from it (never stricter than the rule itself).
                grade = min((grade, "precautions"), key=strictness)
                findings.append(
                    _finding(
                        rule,
                        grade,
                        default,
                        trigger,
                        reason=f"{rule.reason}; {label_list('zone', answer.zones)} not "
                        "treated: keep the cold away from it",
                        # A precaution for the whole session, whatever zone is being treated.
                        zones=(),
                    )
                )
                continue
        findings.append(_finding(rule, grade, default, trigger, zones=answer.zones))
    return findings


def _procedure_findings(
    answers: ScreeningAnswers,
    rulebook: Rulebook,
    policy: ScreeningPolicy,
    modality: str | None,
    today: datetime.date,
) -> list[Finding]:
    rule = rulebook.rules["recent-procedure"]
    findings = []
    for index, procedure in enumerate(answers.recent_procedures):
        if procedure.date > today:
            raise InvalidAnswer(
                f"recent_procedures[{index}].date",
                procedure.date.isoformat(),
                f"a past date (screening on {today.isoformat()})",
            )
        days = policy.waiting_days(procedure.kind)
        ends = procedure.date + datetime.timedelta(days=days)
        if today >= ends:
            continue
        period = rulebook.waiting_periods[procedure.kind]
        kind = label("procedure", procedure.kind)
        findings.append(
            _finding(
                rule,
                policy.grade(rule, modality),
                rule.grade_for(modality),
                f"{kind} on {procedure.date.isoformat()} "
                f"({(today - procedure.date).days} days ago)",
                reason=f"within the {days}-day waiting period after {kind[:1].lower()}{kind[1:]}",
                source=f"{rule.source}; waiting period: {period.source} (evidence: {period.evidence})",
                would_change=f"treating on or after {ends.isoformat()}, or a clinic policy with a shorter waiting period",
            )
        )
    return findings


def _answer_findings(
    answers: ScreeningAnswers,
    rulebook: Rulebook,
    policy: ScreeningPolicy,
    modality: str | None,
    treated: tuple[str, ...] | None,
) -> list[Finding]:
    rules = rulebook.rules
    triggered: list[tuple[Rule, str]] = []
    for rule_id in ("age-under-14", "age-under-18"):
        if answers.age_years < rules[rule_id].params["max_age_years"]:
            triggered.append((rules[rule_id], f"age {answers.age_years:g} years"))
            break
    bp_rule = rules["blood-pressure-uncontrolled"]
    if answers.blood_pressure_mmhg is None:
        triggered.append((rules["blood-pressure-not-measured"], "no blood pressure was entered"))
    else:
        systolic, diastolic = answers.blood_pressure_mmhg
        if (
            systolic > bp_rule.params["max_systolic_mmhg"]
            or diastolic > bp_rule.params["max_diastolic_mmhg"]
        ):
            triggered.append((bp_rule, f"blood pressure {systolic:g}/{diastolic:g} mmHg"))
    if answers.fitzpatrick is None:
        triggered.append((rules["fitzpatrick-not-recorded"], "no skin type was entered"))
    elif answers.fitzpatrick >= rules["fitzpatrick-iv-vi"].params["min_fitzpatrick"]:
        triggered.append(
            (rules["fitzpatrick-iv-vi"], f"Fitzpatrick skin type {answers.fitzpatrick}")
        )
    for rule in rules.values():
        if rule.kind != "answer" or not (rule.zones or rule.modalities):
            continue
        zone_hit = not rule.zones or (treated is not None and set(rule.zones) & set(treated))
        modality_hit = not rule.modalities or modality in rule.modalities
        if zone_hit and modality_hit:
            what = [f"treated zones include {label_list('zone', rule.zones)}"] if rule.zones else []
            what += [f"modality {label('modality', modality)}"] if rule.modalities else []
            triggered.append((rule, "; ".join(what)))
    return [
        _finding(
            rule, policy.grade(rule, modality), rule.grade_for(modality), trigger, zones=rule.zones
        )
        for rule, trigger in triggered
    ]
