"""The protocol catalogue: for a goal, a zone and a modality, what to aim for and how.

    p = protocol("skin-tone", "cheek", "ln2-vapour")
    p.band_low_c, p.band_high_c, p.hold_s     # 2.0, 4.0, 10.0 (surface, C and s)
    p.max_exposure_s                          # 60.0: the zone's limit (safety registry)
    p.techniques                              # candidate distance/sweep/dwell settings
    p.evidence_grade, p.evidence              # "transient", in plain words

Composed from ``data/protocols.toml`` (goal rows, modality rows, overrides) and the safety
registry (``data/thresholds.toml``). Every field carries its source.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from cryoderm.clinical.errors import InvalidAnswer
from cryoderm.clinical.limits import load_safety_limits
from cryoderm.data import load_table
from cryoderm.data.labels import celsius, label

EVIDENCE_WORDS = {
    "transient": "Evidence: a transient effect only",
    "low": "Evidence: low",
    "none": "Evidence: none",
}


@dataclass(frozen=True)
class Technique:
    """How the cold is delivered; only the fields of its modality are set.

    ln2-vapour: distance_cm (nozzle to skin), sweep_period_s (time between passes over a
    spot), dwell_s (time the jet is on the spot per pass). cold-air: gas_temp_c and
    air_speed_m_s at the skin. contact: applicator (a named material) at applicator_temp_c."""

    modality: str
    distance_cm: float | None = None
    sweep_period_s: float | None = None
    dwell_s: float | None = None
    gas_temp_c: float | None = None
    air_speed_m_s: float | None = None
    applicator: str | None = None
    applicator_temp_c: float | None = None

    def describe(self) -> str:
        """The technique in the practitioner's words (labels, signed °C)."""
        if self.modality == "ln2-vapour" and self.dwell_s == self.sweep_period_s:
            return f"wand at {self.distance_cm:g} cm, held on the spot"
        if self.modality == "ln2-vapour":
            return (
                f"wand at {self.distance_cm:g} cm, sweeping: each spot passed every "
                f"{self.sweep_period_s:g} s for {self.dwell_s:g} s"
            )
        if self.modality == "cold-air":
            return (
                f"air at {celsius(self.gas_temp_c, signed=True)}, "
                f"{self.air_speed_m_s:g} m/s at the skin"
            )
        return (
            f"{label('applicator', self.applicator)} applicator at "
            f"{celsius(self.applicator_temp_c, signed=True)}"
        )

    def to_json_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Protocol:
    """One catalogue entry: goal x zone x modality.

    band_low_c/band_high_c: the target skin-surface band (C); hold_s: time to hold it (s, 0: reach it).
    duration_step_s: the grid of stop times the planner searches; search_horizon_s: how
    far its first search looks (the full maximum only when nothing qualifies by then).
    floor_temp_c: the interlock's stop temperature; max_exposure_s: the zone's per-session
    maximum. techniques: candidates to reach the band; hold_techniques: lighter candidates
    to hold it once reached (empty: the approach technique holds it); the planner picks. course_sessions: (min, max);
    min_interval_h: hours between sessions. evidence_grade: "transient" | "low" | "none",
    evidence: the same in plain words. sources: field -> source."""

    goal: str
    goal_label: str
    zone: str
    modality: str
    band_low_c: float
    band_high_c: float
    hold_s: float
    duration_step_s: float
    search_horizon_s: float
    floor_temp_c: float
    max_exposure_s: float
    techniques: tuple[Technique, ...]
    hold_techniques: tuple[Technique, ...]
    aftercare: tuple[str, ...]
    course_sessions: tuple[int, int]
    min_interval_h: float
    evidence_grade: str
    evidence: str
    outcome_measures: tuple[str, ...]
    sources: Mapping[str, str]

    @property
    def evidence_words(self) -> str:
        return f"{EVIDENCE_WORDS[self.evidence_grade]}. {self.evidence}"

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "goal": self.goal,
            "zone": self.zone,
            "modality": self.modality,
            "target_band_c": [self.band_low_c, self.band_high_c],
            "hold_s": self.hold_s,
            "floor_temp_c": self.floor_temp_c,
            "max_exposure_s": self.max_exposure_s,
            "techniques": [t.to_json_dict() for t in self.techniques],
            "hold_techniques": [t.to_json_dict() for t in self.hold_techniques],
            "aftercare": list(self.aftercare),
            "course_sessions": list(self.course_sessions),
            "min_interval_h": self.min_interval_h,
            "evidence_grade": self.evidence_grade,
            "evidence": self.evidence,
            "outcome_measures": list(self.outcome_measures),
            "sources": dict(self.sources),
        }


@dataclass(frozen=True)
class PlannerSettings:
    """The planner's documented margins and search step (data/protocols.toml [planner]).

    layer_margin_k: every layer stays this far above the tissue freezing point (K).
    contact_numbness_margin_k: contact steps keep the surface this far above 7 C (K).
    rewarm_s: simulated room-air rewarming after each step.
    switch_step_s: the grid of the approach-to-hold switch time.
    interval_samples: varied runs per step for its prediction intervals (the cold tail)."""

    layer_margin_k: float
    contact_numbness_margin_k: float
    rewarm_s: float
    switch_step_s: float
    interval_samples: int
    sources: Mapping[str, str]


def _table() -> dict[str, Any]:
    return load_table("protocols")


def goal_ids() -> tuple[str, ...]:
    return tuple(g["id"] for g in _table()["goal"])


def _technique(modality: str, row: Mapping[str, Any]) -> Technique:
    return Technique(modality=modality, **{k: row[k] for k in row})


@cache
def protocol(goal: str, zone: str, modality: str) -> Protocol:
    """The catalogue entry; InvalidAnswer for an unknown goal, zone or modality, or a goal
    that does not apply to the zone."""
    table = _table()
    limits = load_safety_limits()
    goals = {g["id"]: g for g in table["goal"]}
    if goal not in goals:
        raise InvalidAnswer("goal", goal, "one of " + ", ".join(goals))
    row = goals[goal]
    floor = limits.floor_temp_c(zone, modality)
    exposure = limits.exposure_limit(zone, modality)
    if "zones" in row and zone not in row["zones"]:
        raise InvalidAnswer("zone", zone, f"goal {goal} applies to: " + ", ".join(row["zones"]))
    mod = table["modality"][modality]
    course = table["course"]
    entry = Protocol(
        goal=goal,
        goal_label=row["label"],
        zone=zone,
        modality=modality,
        band_low_c=float(mod["band_low_c"]),
        band_high_c=float(mod["band_high_c"]),
        hold_s=float(mod["hold_s"]),
        duration_step_s=float(mod["duration_step_s"]),
        search_horizon_s=float(mod["search_horizon_s"]),
        floor_temp_c=floor,
        max_exposure_s=exposure.max_exposure_s,
        techniques=tuple(_technique(modality, t) for t in mod["technique"]),
        hold_techniques=tuple(_technique(modality, t) for t in mod.get("hold_technique", ())),
        aftercare=tuple(mod["aftercare"]),
        course_sessions=(int(course["sessions_min"]), int(course["sessions_max"])),
        min_interval_h=float(course["min_interval_h"]),
        evidence_grade=row["evidence_grade"],
        evidence=row["evidence"],
        outcome_measures=tuple(row["outcome_measures"]),
        sources={
            "target_band": mod["band_source"],
            "hold": mod["hold_source"],
            "duration_step": mod["duration_step_source"],
            "search_horizon": mod["search_horizon_source"],
            "technique": mod["technique_source"],
            "aftercare": mod["aftercare_source"],
            "floor": limits.modality_limits(modality).floor.source,
            "max_exposure": exposure.source,
            "course": course["course_source"],
            "interval": course["interval_source"],
            "evidence": row["source"],
        },
    )
    for override in table.get("override", ()):
        if (override["goal"], override["zone"], override["modality"]) == (goal, zone, modality):
            changes = {
                k: v for k, v in override.items() if k not in ("goal", "zone", "modality", "source")
            }
            entry = replace(
                entry, **changes, sources={**entry.sources, "override": override["source"]}
            )
    if not floor <= entry.band_low_c < entry.band_high_c:
        raise ValueError(f"protocols: {goal}/{zone}/{modality} band lies below the zone floor")
    return entry


def all_protocols() -> tuple[Protocol, ...]:
    """Every applicable goal x zone x modality entry."""
    limits = load_safety_limits()
    entries = []
    for goal in goal_ids():
        row = next(g for g in _table()["goal"] if g["id"] == goal)
        for zone in row.get("zones", limits.zones):
            for modality in limits.modalities:
                entries.append(protocol(goal, zone, modality))
    return tuple(entries)


@cache
def planner_settings() -> PlannerSettings:
    row = _table()["planner"]
    return PlannerSettings(
        layer_margin_k=float(row["layer_margin_k"]),
        contact_numbness_margin_k=float(row["contact_numbness_margin_k"]),
        rewarm_s=float(row["rewarm_s"]),
        switch_step_s=float(row["switch_step_s"]),
        interval_samples=int(row["interval_samples"]),
        sources={
            "layer_margin": row["layer_margin_source"],
            "contact": row["contact_source"],
            "rewarm": row["rewarm_source"],
            "switch_step": row["switch_step_source"],
            "interval_samples": row["interval_samples_source"],
        },
    )
