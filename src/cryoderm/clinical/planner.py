"""The planner: goals x zones x modality (+ the client) -> per-zone steps, from the physics.

    plan(PlanRequest(goals=("skin-tone",), zones=("cheek", "forehead"), modality="ln2-vapour",
                     sex="female", age_years=45, verdict=verdict))

For each zone the catalogue gives the target surface band, the hold time, the zone's
maximum exposure and candidate settings, strongest first. The planner searches in a few
batched engine calls (see :func:`_search`): each run is judged at every stop time on a
grid, and the shortest stop whose surface reaches the band (and holds it) with every
margin kept is picked; where no single setting can, an approach-then-hold is tried. Each
pick is re-simulated with its rewarming (one more batched call): that run is the
prediction, and ``PlanStep.case`` reproduces it with ``cryoderm simulate``.

Margins (data/protocols.toml [planner], thresholds.toml): the surface never below the
modality's floor; every layer at least ``layer_margin_k`` above the tissue freezing point;
no freezing risk predicted; contact steps at or above the 7 C numbness criterion.

The margins are judged on the cold tail, not on the nominal run: each pick is also run at
``interval_samples`` points of a Latin hypercube over the sourced spreads of its inputs
(layer thicknesses, perfusion, the deep boundary, the local-cold law, the device and
contact assumptions: physics/spreads.py), in the same batched call, and every limit must
hold at the 5th percentile of those runs (physics/intervals.py). Where the nominal pick
meets the limits but its cold tail does not, the zone is searched again with its limits
raised by the tail's depth below the nominal, until the tail holds (a few rounds at most).
When no candidate passes, the step says so with the nearest candidate and why it fails.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from cryoderm.clinical.catalogue import (
    PlannerSettings,
    Protocol,
    Technique,
    planner_settings,
    protocol,
)
from cryoderm.clinical.errors import InvalidAnswer, TreatmentNotPermitted
from cryoderm.clinical.limits import load_safety_limits
from cryoderm.clinical.screening import Verdict
from cryoderm.data.labels import label
from cryoderm.physics.case import (
    AmbientPhase,
    Case,
    ColdAirPhase,
    ContactPhase,
    Freezing,
    Ln2VapourPhase,
    Output,
    Perfusion,
    Phase,
    Probe,
    SteadyInitial,
    Tissue,
)
from cryoderm.physics.casefile import case_to_toml, parse_case_text
from cryoderm.physics.errors import PhysicsError
from cryoderm.physics.provenance import provenance

if TYPE_CHECKING:
    from cryoderm.physics.intervals import PredictionIntervals

#: Output sampling: LN2 pulses last a fraction of a second; their troughs fall at the end of
#: each dwell, which the catalogue's dwell and period values put on this grid.
SAMPLE_EVERY_S = {"ln2-vapour": 0.2, "cold-air": 1.0, "contact": 0.5}


#: The format name of a stored plan (``Plan.to_json_dict``), checked when it is read back.
PLAN_FORMAT = "cryoderm-plan/1"


class _Stored:
    """One object of a stored plan, read field by field: a missing field or one of the wrong
    type is an :class:`InvalidAnswer` naming its path (``steps[1].margins.to_floor_k``)."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, Mapping):
            raise InvalidAnswer(path or "plan", type(data).__name__, "an object")
        self.data = data
        self.path = path

    def _where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def raw(self, key: str) -> Any:
        if key not in self.data:
            raise InvalidAnswer(self._where(key), None, "required in a stored plan")
        return self.data[key]

    def text(self, key: str) -> str:
        value = self.raw(key)
        if not isinstance(value, str):
            raise InvalidAnswer(self._where(key), value, "a string")
        return value

    def number(self, key: str, *, optional: bool = False) -> float | None:
        value = self.data.get(key) if optional else self.raw(key)
        if value is None and optional:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise InvalidAnswer(self._where(key), value, "a finite number")
        return float(value)

    def required_number(self, key: str) -> float:
        value = self.number(key)
        assert value is not None
        return value

    def flag(self, key: str) -> bool:
        value = self.raw(key)
        if not isinstance(value, bool):
            raise InvalidAnswer(self._where(key), value, "true or false")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        value = self.raw(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidAnswer(self._where(key), value, "a list of strings")
        return tuple(value)

    def numbers(self, key: str) -> tuple[float, ...]:
        value = self.raw(key)
        if not isinstance(value, list) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value
        ):
            raise InvalidAnswer(self._where(key), value, "a list of numbers")
        return tuple(float(v) for v in value)

    def curve(self, key: str) -> tuple[float, ...]:
        """A predicted curve; None marks a point the engine could not give (kept as NaN)."""
        value = self.raw(key)
        if not isinstance(value, list) or not all(
            v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in value
        ):
            raise InvalidAnswer(self._where(key), value, "a list of numbers or nulls")
        return tuple(math.nan if v is None else float(v) for v in value)

    def words(self, key: str) -> dict[str, str]:
        value = self.raw(key)
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise InvalidAnswer(self._where(key), value, "an object of strings")
        return dict(value)

    def child(self, key: str) -> _Stored:
        return _Stored(self.raw(key), self._where(key))

    def children(self, key: str) -> list[_Stored]:
        value = self.raw(key)
        if not isinstance(value, list):
            raise InvalidAnswer(self._where(key), value, "a list")
        return [_Stored(item, f"{self._where(key)}[{i}]") for i, item in enumerate(value)]


def _technique(stored: _Stored) -> Technique:
    fields = {name for name in Technique.__dataclass_fields__ if name != "modality"}
    unknown = sorted(set(stored.data) - fields - {"modality"})
    if unknown:
        raise InvalidAnswer(
            stored._where(unknown[0]), stored.data[unknown[0]], "not a field of a technique"
        )
    values: dict[str, Any] = {}
    for name in fields & set(stored.data):
        values[name] = stored.text(name) if name == "applicator" else stored.number(name)
    return Technique(modality=stored.text("modality"), **values)


@dataclass(frozen=True)
class Delivery:
    """How one step delivers the cold: ``approach`` for ``approach_s`` seconds, then
    optionally ``hold`` for ``hold_phase_s`` seconds (a lighter setting that keeps the
    surface in band, as a device with skin-temperature feedback does)."""

    approach: Technique
    approach_s: float
    hold: Technique | None = None
    hold_phase_s: float = 0.0

    @property
    def duration_s(self) -> float:
        return self.approach_s + self.hold_phase_s

    def phases(self) -> tuple[Phase, ...]:
        first = _phase(self.approach, self.approach_s)
        if self.hold is None or self.hold_phase_s <= 0:
            return (first,)
        return (first, _phase(self.hold, self.hold_phase_s))

    def describe(self) -> str:
        text = f"{self.approach.describe()} for {self.approach_s:g} s"
        if self.hold is not None and self.hold_phase_s > 0:
            text += f", then {self.hold.describe()} for {self.hold_phase_s:g} s"
        return text

    def to_json_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "approach": self.approach.to_json_dict(),
            "approach_s": self.approach_s,
        }
        if self.hold is not None and self.hold_phase_s > 0:
            out["hold"] = self.hold.to_json_dict()
            out["hold_phase_s"] = self.hold_phase_s
        return out

    @classmethod
    def _read(cls, stored: _Stored) -> Delivery:
        hold = _technique(stored.child("hold")) if "hold" in stored.data else None
        return cls(
            approach=_technique(stored.child("approach")),
            approach_s=stored.required_number("approach_s"),
            hold=hold,
            hold_phase_s=stored.required_number("hold_phase_s") if hold is not None else 0.0,
        )


@dataclass(frozen=True)
class PlanRequest:
    """What to plan.

    goals: catalogue goal ids; zones: face zones; modality: cold-air | ln2-vapour | contact.
    sex, age_years: refine the zone tissue tables (an age outside their adult range uses
    the mean adult, with a note). thickness_overrides_mm: zone ->
    {layer name -> measured thickness in mm}. verdict: the client's screening verdict
    (None: not screened, flagged). referral_signed_off: a clinician signed off a "refer"
    verdict (the sign-off record itself lives in the clinic)."""

    goals: tuple[str, ...]
    zones: tuple[str, ...]
    modality: str
    sex: Literal["female", "male"] | None = None
    age_years: float | None = None
    thickness_overrides_mm: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    verdict: Verdict | None = None
    referral_signed_off: bool = False


@dataclass(frozen=True)
class Margins:
    """Predicted distances to the limits, in K (positive: on the safe side), on the cold tail.

    to_floor_k: coldest surface minus the zone floor. to_freezing_k: coldest point of any
    layer minus the tissue freezing point. to_numbness_k: coldest surface minus the 7 C
    contact numbness criterion (contact steps only). freeze_risk_time_s: when a freezing
    risk is predicted (None: never). basis: what "coldest" means: the 5th percentile of the
    step's varied runs (or the nominal run alone where no intervals were computed).
    nominal_to_floor_k, nominal_to_freezing_k: the same distances for the nominal run."""

    to_floor_k: float
    to_freezing_k: float
    to_numbness_k: float | None
    freeze_risk_time_s: float | None
    basis: str = "nominal run"
    nominal_to_floor_k: float | None = None
    nominal_to_freezing_k: float | None = None

    def to_json_dict(self) -> dict[str, Any]:
        return {k: (v if isinstance(v, str) else _round(v)) for k, v in self.__dict__.items()}

    @classmethod
    def _read(cls, stored: _Stored) -> Margins:
        return cls(
            to_floor_k=stored.required_number("to_floor_k"),
            to_freezing_k=stored.required_number("to_freezing_k"),
            to_numbness_k=stored.number("to_numbness_k", optional=True),
            freeze_risk_time_s=stored.number("freeze_risk_time_s", optional=True),
            basis=stored.text("basis") if "basis" in stored.data else "nominal run",
            nominal_to_floor_k=stored.number("nominal_to_floor_k", optional=True),
            nominal_to_freezing_k=stored.number("nominal_to_freezing_k", optional=True),
        )


@dataclass(frozen=True)
class Prediction:
    """A step's simulated prediction, judged.

    time_s, surface_c, basal_c: the predicted curves (s, C) from the start of the exposure
    through the rewarming. min_temp_c_by_layer: each layer's coldest temperature (C) over
    that run. reached_band_at_s: first time the surface is at or below the band's upper
    edge. failures: why it does not qualify, in words (empty: it does). case: the physics
    case that reproduces it. intervals: the 5th, 50th and 95th percentiles of its varied
    runs (None: not computed). tail_only: it fails only because of its cold tail (the
    nominal run keeps every limit)."""

    delivery: Delivery
    time_in_band_s: float
    reached_band_at_s: float | None
    min_temp_c_by_layer: Mapping[str, float]
    margins: Margins
    failures: tuple[str, ...]
    case: Case
    time_s: tuple[float, ...] = ()
    surface_c: tuple[float, ...] = ()
    basal_c: tuple[float, ...] = ()
    intervals: PredictionIntervals | None = None
    tail_only: bool = False

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def duration_s(self) -> float:
        return self.delivery.duration_s


@dataclass(frozen=True)
class PlanStep:
    """The plan for one zone.

    status: "planned", or "no-safe-protocol" (then ``prediction`` is the nearest candidate
    and ``failures`` says why it fails). evidence: goal -> plain words. precautions: from
    the screening verdict and the zone."""

    zone: str
    modality: str
    goals: tuple[str, ...]
    status: Literal["planned", "no-safe-protocol"]
    band_c: tuple[float, float]
    hold_s: float
    max_exposure_s: float
    floor_temp_c: float
    prediction: Prediction
    evidence: Mapping[str, str]
    precautions: tuple[str, ...]
    aftercare: tuple[str, ...]
    course_sessions: tuple[int, int]
    min_interval_h: float
    sources: Mapping[str, str]

    @property
    def case(self) -> Case:
        """The physics case that reproduces this step's prediction."""
        return self.prediction.case

    @property
    def duration_s(self) -> float:
        return self.prediction.duration_s

    @property
    def delivery(self) -> Delivery:
        return self.prediction.delivery

    def to_json_dict(self, curves: bool = True) -> dict[str, Any]:
        p = self.prediction
        out: dict[str, Any] = {
            "zone": self.zone,
            "modality": self.modality,
            "goals": list(self.goals),
            "status": self.status,
            "technique": p.delivery.to_json_dict(),
            "technique_text": p.delivery.describe(),
            "duration_s": p.duration_s,
            "target_band_c": list(self.band_c),
            "hold_s": self.hold_s,
            "time_in_band_s": _round(p.time_in_band_s),
            "reached_band_at_s": _round(p.reached_band_at_s),
            "max_exposure_s": self.max_exposure_s,
            "floor_temp_c": self.floor_temp_c,
            "min_temp_c_by_layer": {k: _round(v) for k, v in p.min_temp_c_by_layer.items()},
            "margins": p.margins.to_json_dict(),
            "intervals": None if p.intervals is None else p.intervals.to_json_dict(),
            "failures": list(p.failures),
            "evidence": dict(self.evidence),
            "precautions": list(self.precautions),
            "aftercare": list(self.aftercare),
            "course_sessions": list(self.course_sessions),
            "min_interval_h": self.min_interval_h,
            "sources": dict(self.sources),
            # The case that reproduces this prediction: `cryoderm simulate` re-runs it, and the
            # live view's simulated device (the virtual face) is driven by it.
            "case_toml": case_to_toml(self.prediction.case),
            # The cryoderm version, the resolved case (every default filled in) and its hash.
            "provenance": provenance(self.prediction.case).to_json_dict(),
        }
        if curves:
            out["curves"] = {
                "time_s": [_round(t) for t in p.time_s],
                "surface_c": [_round(t) for t in p.surface_c],
                "basal_c": [_round(t) for t in p.basal_c],
            }
        return out


def _prediction(stored: _Stored) -> Prediction:
    try:
        case = parse_case_text(stored.text("case_toml"), stored._where("case_toml"))
    except PhysicsError as error:
        raise InvalidAnswer(stored._where("case_toml"), "(case file)", str(error)) from None
    curves = stored.child("curves") if "curves" in stored.data else None
    return Prediction(
        delivery=Delivery._read(stored.child("technique")),
        time_in_band_s=stored.number("time_in_band_s", optional=True) or 0.0,
        reached_band_at_s=stored.number("reached_band_at_s", optional=True),
        min_temp_c_by_layer={
            layer: float(value)
            for layer, value in stored.child("min_temp_c_by_layer").data.items()
            if isinstance(value, int | float)
        },
        margins=Margins._read(stored.child("margins")),
        failures=stored.texts("failures"),
        case=case,
        time_s=curves.curve("time_s") if curves else (),
        surface_c=curves.curve("surface_c") if curves else (),
        basal_c=curves.curve("basal_c") if curves else (),
        intervals=_intervals(stored.child("intervals")) if stored.data.get("intervals") else None,
    )


def _intervals(stored: _Stored) -> PredictionIntervals:
    """The stored summary of a step's intervals; the varied runs themselves are not stored
    (``results`` is empty)."""
    from cryoderm.physics.intervals import Interval, PredictionIntervals

    metrics = {}
    for name, value in stored.child("metrics").data.items():
        row = _Stored(value, f"{stored._where('metrics')}.{name}")
        metrics[str(name)] = Interval(
            low=row.number("p05", optional=True),
            median=row.number("p50", optional=True),
            high=row.number("p95", optional=True),
        )
    return PredictionIntervals(
        parameters=stored.texts("parameters"),
        samples=int(stored.required_number("samples")),
        seed=int(stored.required_number("seed")),
        metrics=metrics,
        failed=int(stored.required_number("failed")),
        results=(),
    )


def _plan_step(stored: _Stored) -> PlanStep:
    status = stored.text("status")
    if status not in ("planned", "no-safe-protocol"):
        raise InvalidAnswer(stored._where("status"), status, "planned or no-safe-protocol")
    band = stored.numbers("target_band_c")
    course = stored.numbers("course_sessions")
    if len(band) != 2 or len(course) != 2:
        raise InvalidAnswer(stored._where("target_band_c"), band, "two numbers (low, high)")
    return PlanStep(
        zone=stored.text("zone"),
        modality=stored.text("modality"),
        goals=stored.texts("goals"),
        status=status,  # type: ignore[arg-type]
        band_c=(band[0], band[1]),
        hold_s=stored.required_number("hold_s"),
        max_exposure_s=stored.required_number("max_exposure_s"),
        floor_temp_c=stored.required_number("floor_temp_c"),
        prediction=_prediction(stored),
        evidence=stored.words("evidence"),
        precautions=stored.texts("precautions"),
        aftercare=stored.texts("aftercare"),
        course_sessions=(int(course[0]), int(course[1])),
        min_interval_h=stored.required_number("min_interval_h"),
        sources=stored.words("sources"),
    )


@dataclass(frozen=True)
class Plan:
    """A plan: one step per requested zone.

    screening: the verdict's outcome, or "not screened". pending_sign_off: a "refer" verdict
    not yet signed off: the plan must not be run until a clinician signs it off."""

    steps: tuple[PlanStep, ...]
    goals: tuple[str, ...]
    modality: str
    screening: str
    pending_sign_off: bool
    notes: tuple[str, ...]

    @property
    def feasible(self) -> bool:
        return all(step.status == "planned" for step in self.steps)

    @property
    def total_exposure_s(self) -> float:
        return sum(step.duration_s for step in self.steps if step.status == "planned")

    def to_json_dict(self, curves: bool = True) -> dict[str, Any]:
        return {
            "format": PLAN_FORMAT,
            "goals": list(self.goals),
            "modality": self.modality,
            "screening": self.screening,
            "pending_sign_off": self.pending_sign_off,
            "feasible": self.feasible,
            "total_exposure_s": self.total_exposure_s,
            "notes": list(self.notes),
            "steps": [step.to_json_dict(curves) for step in self.steps],
        }

    @classmethod
    def from_json_dict(cls, data: Mapping[str, Any]) -> Plan:
        """The plan that :meth:`to_json_dict` stored (with or without its curves), as typed
        objects: what every reader of a stored plan uses (pages, live guard, reports), so that
        none of them reads loose keys. A stored plan that is not one raises
        :class:`InvalidAnswer` naming the field (``steps[0].floor_temp_c``)."""
        stored = _Stored(data, "")
        if stored.data.get("format") != PLAN_FORMAT:
            raise InvalidAnswer("format", stored.data.get("format"), PLAN_FORMAT)
        steps = tuple(_plan_step(step) for step in stored.children("steps"))
        if not steps:
            raise InvalidAnswer("steps", [], "at least one step")
        modality = stored.text("modality")
        for index, step in enumerate(steps):
            if step.modality != modality:
                raise InvalidAnswer(f"steps[{index}].modality", step.modality, modality)
        return cls(
            steps=steps,
            goals=stored.texts("goals"),
            modality=modality,
            screening=stored.text("screening"),
            pending_sign_off=stored.flag("pending_sign_off"),
            notes=stored.texts("notes"),
        )

    def step_for(self, zone: str) -> PlanStep | None:
        """The step of ``zone``, or None when the plan does not treat it."""
        return next((step for step in self.steps if step.zone == zone), None)


def _round(value: float | None) -> float | None:
    if value is None:
        return None
    number = float(value)
    return round(number, 3) if math.isfinite(number) else None


def _phase(technique: Technique, duration_s: float) -> Phase:
    if technique.modality == "ln2-vapour":
        assert technique.distance_cm and technique.sweep_period_s and technique.dwell_s
        return Ln2VapourPhase(
            distance_cm=technique.distance_cm,
            sweep_period_s=technique.sweep_period_s,
            dwell_s=technique.dwell_s,
            duration_s=duration_s,
        )
    if technique.modality == "cold-air":
        assert technique.gas_temp_c is not None and technique.air_speed_m_s is not None
        return ColdAirPhase(
            gas_temp_c=technique.gas_temp_c,
            air_speed_m_s=technique.air_speed_m_s,
            duration_s=duration_s,
        )
    assert technique.applicator is not None and technique.applicator_temp_c is not None
    return ContactPhase(
        applicator=technique.applicator,
        applicator_temp_c=technique.applicator_temp_c,
        duration_s=duration_s,
    )


def _probes(tissue: Tissue) -> tuple[tuple[Probe, ...], dict[str, str]]:
    """A probe at the top of every layer (where a layer is coldest under surface cooling),
    named "surface" and "basal" for the first two; and layer name -> probe name."""
    probes, by_layer, depth = [], {}, 0.0
    for index, layer in enumerate(tissue.layers):
        name = "surface" if index == 0 else "basal" if index == 1 else f"top of {layer.name}"
        probes.append(Probe(name, round(depth, 6)))
        by_layer[layer.name] = name
        depth += layer.thickness_mm
    return tuple(probes), by_layer


def build_case(tissue: Tissue, delivery: Delivery, rewarm_s: float, title: str = "") -> Case:
    """The physics case of ``delivery`` on ``tissue``, then ``rewarm_s`` of room air: local
    cold perfusion and freezing on, steady start in the room, a probe at every layer's top."""
    phases = delivery.phases()
    if rewarm_s > 0:
        phases += (AmbientPhase(duration_s=rewarm_s),)
    probes, _ = _probes(tissue)
    return Case(
        tissue=tissue,
        phases=phases,
        perfusion=Perfusion(model="local-cold"),
        freezing=Freezing(enabled=True),
        initial=SteadyInitial(),
        output=Output(sample_every_s=SAMPLE_EVERY_S[delivery.approach.modality], probes=probes),
        title=title,
    )


@dataclass(frozen=True)
class _ZoneJob:
    """A zone to plan. tail_k: how far (K) the search raises every lower limit so that the
    cold tail of the pick keeps the true limits (0 in the first search)."""

    zone: str
    protocol: Protocol
    tissue: Tissue
    goals: tuple[str, ...]
    tail_k: float = 0.0


@dataclass(frozen=True)
class _Scores:
    """Judgement of a run stopped at each of ``stops_s`` (arrays over the stops)."""

    stops_s: np.ndarray
    time_in_band_s: np.ndarray
    reached_at_s: np.ndarray  # NaN where the band is not reached
    layer_min_c: dict[str, np.ndarray]
    freeze_risk: np.ndarray
    misses_band: np.ndarray
    breaks_limit: np.ndarray

    @property
    def ok(self) -> np.ndarray:
        return ~(self.misses_band | self.breaks_limit)


def _limits_c(
    job: _ZoneJob, settings: PlannerSettings, raised: bool = True
) -> tuple[float, float, float | None]:
    """(surface floor, coldest allowed layer temperature, contact surface minimum or None),
    raised by the job's tail allowance unless ``raised`` is False (the true limits)."""
    limits = load_safety_limits()
    tail = job.tail_k if raised else 0.0
    coldest = limits.threshold("tissue-freezing-point").value + settings.layer_margin_k + tail
    contact = None
    if job.protocol.modality == "contact":
        contact = (
            limits.threshold("contact-numbness").value + settings.contact_numbness_margin_k + tail
        )
    return job.protocol.floor_temp_c + tail, coldest, contact


def _score(
    job: _ZoneJob, result: Any, stops_s: Sequence[float], rewarm_s: float, settings: PlannerSettings
) -> _Scores:
    """Judge ``result`` as if the exposure stopped at each stop time (then ``rewarm_s`` of
    room air, which ``result`` must contain when rewarm_s > 0). The run is the same up to
    every stop, so one run judges them all (prefix minima and counts)."""
    p = job.protocol
    floor, coldest_allowed, contact_min = _limits_c(job, settings)
    _, by_layer = _probes(job.tissue)
    time = np.asarray(result.time_s, dtype=float)
    stops = np.asarray(stops_s, dtype=float)
    surface = np.asarray(result.probes["surface"], dtype=float)
    dt = float(time[1] - time[0]) if len(time) > 1 else 0.0
    exposed_end = np.searchsorted(time, stops + 1e-9, side="right") - 1
    window_end = np.searchsorted(time, stops + rewarm_s + 1e-9, side="right") - 1
    in_band = (surface >= p.band_low_c) & (surface <= p.band_high_c)
    in_band_count = np.concatenate(([0], np.cumsum(in_band[1:])))
    time_in_band = in_band_count[exposed_end] * dt
    reached = np.nonzero(surface <= p.band_high_c)[0]
    first = int(reached[0]) if len(reached) else len(time)
    reached_at = np.where(exposed_end >= first, time[min(first, len(time) - 1)], np.nan)
    layer_min = {
        layer: np.minimum.accumulate(np.asarray(result.probes[probe], dtype=float))[window_end]
        for layer, probe in by_layer.items()
    }
    freeze_time = result.safety.get("freeze_risk_time_s")
    freeze = (
        np.zeros(len(stops), dtype=bool)
        if freeze_time is None
        else freeze_time <= stops + rewarm_s + 1e-9
    )
    surface_min = layer_min[job.tissue.layers[0].name]
    all_min = np.min(np.vstack(list(layer_min.values())), axis=0)
    misses = np.isnan(reached_at) | (time_in_band < p.hold_s - 1e-9) | (time_in_band <= 0)
    breaks = (surface_min < floor) | (all_min < coldest_allowed) | freeze
    if contact_min is not None:
        breaks |= surface_min < contact_min
    return _Scores(stops, time_in_band, reached_at, layer_min, freeze, misses, breaks)


def _metric_key(layer: str) -> str:
    """The engine's metric name for a layer's minimum temperature (physics.metrics)."""
    return "min_" + re.sub(r"[^a-z0-9]+", "_", layer.lower()).strip("_") + "_temp_c"


def _limit_failures(
    surface_min: float,
    coldest: float,
    freeze_time: float | None,
    limits_c: tuple[float, float, float | None],
    settings: PlannerSettings,
    where: str,
) -> list[str]:
    """Why these minima break the limits, in words (``where``: which run they come from)."""
    floor, coldest_allowed, contact_min = limits_c
    safety = load_safety_limits()
    freezing_point = safety.threshold("tissue-freezing-point").value
    numbness = safety.threshold("contact-numbness").value
    failures = []
    if surface_min < floor:
        failures.append(
            f"the surface falls to {surface_min:.2f} C{where}, below the {floor:g} C floor"
        )
    if coldest < coldest_allowed:
        failures.append(
            f"a layer falls to {coldest:.2f} C{where}, within {settings.layer_margin_k:g} K "
            f"of the tissue freezing point ({freezing_point:g} C)"
        )
    if freeze_time is not None:
        failures.append(f"the model predicts a freezing risk at {freeze_time:g} s{where}")
    if contact_min is not None and surface_min < contact_min:
        failures.append(
            f"the surface falls to {surface_min:.2f} C{where}, below the {numbness:g} C "
            "contact numbness criterion"
        )
    return failures


def _judge(
    job: _ZoneJob,
    delivery: Delivery,
    result: Any,
    rewarm_s: float,
    settings: PlannerSettings,
    keep_curves: bool = False,
    intervals: PredictionIntervals | None = None,
) -> Prediction:
    """The full judgement, with reasons in words, of ``delivery`` (then ``rewarm_s`` of
    room air) from ``result``, a run that is exactly that up to its end, and, where given,
    from the ``intervals`` of its varied runs: the limits are then judged on the cold tail
    (the 5th percentile, never warmer than the nominal run)."""
    p = job.protocol
    scores = _score(job, result, [delivery.duration_s], rewarm_s, settings)
    limits_c = _limits_c(job, settings, raised=False)
    floor, _, contact_min = limits_c
    limits = load_safety_limits()
    freezing_point = limits.threshold("tissue-freezing-point").value
    # The run is exactly this case: the engine's per-layer minima (every node, every
    # internal step) also catch a trough between output samples.
    minima = {
        layer: min(float(values[0]), result.metrics.get(_metric_key(layer)) or math.inf)
        for layer, values in scores.layer_min_c.items()
    }
    surface_layer = job.tissue.layers[0].name
    freeze_time = result.safety.get("freeze_risk_time_s") if scores.freeze_risk[0] else None
    tail, tail_freeze, basis = dict(minima), freeze_time, "nominal run"
    if intervals is not None:
        basis = f"5th percentile of {intervals.samples} varied runs"
        for layer in tail:
            spread = intervals.metrics.get(_metric_key(layer))
            if spread is not None and spread.low is not None:
                tail[layer] = min(tail[layer], spread.low)
        freeze = intervals.metrics.get("freeze_risk_time_s")
        if freeze is not None and freeze.low is not None:
            tail_freeze = freeze.low if freeze_time is None else min(freeze_time, freeze.low)
    surface_min = tail[surface_layer]
    numbness = limits.threshold("contact-numbness").value
    margins = Margins(
        to_floor_k=surface_min - floor,
        to_freezing_k=min(tail.values()) - freezing_point,
        to_numbness_k=surface_min - numbness if contact_min is not None else None,
        freeze_risk_time_s=tail_freeze,
        basis=basis,
        nominal_to_floor_k=minima[surface_layer] - floor,
        nominal_to_freezing_k=min(minima.values()) - freezing_point,
    )
    in_band = float(scores.time_in_band_s[0])
    reached_at = None if np.isnan(scores.reached_at_s[0]) else float(scores.reached_at_s[0])
    duration = delivery.duration_s
    failures = []
    if reached_at is None or in_band <= 0:
        failures.append(
            f"the surface does not reach the band {p.band_low_c:g}-{p.band_high_c:g} C "
            f"within {duration:g} s (coldest {minima[surface_layer]:.1f} C)"
        )
    elif in_band < p.hold_s - 1e-9:
        failures.append(
            f"the surface holds the band {in_band:.1f} s of the {p.hold_s:g} s needed "
            f"within the {duration:g} s exposure"
        )
    band_ok = not failures
    if not band_ok and job.tail_k > 0:
        failures.append(
            f"no setting reaches the band while keeping every limit {job.tail_k:.1f} K higher, "
            "the depth of the cold tail of the varied runs below the nominal one"
        )
    nominal = _limit_failures(
        minima[surface_layer], min(minima.values()), freeze_time, limits_c, settings, ""
    )
    cold_tail = _limit_failures(
        surface_min,
        min(tail.values()),
        tail_freeze,
        limits_c,
        settings,
        f" in the cold tail ({basis})",
    )
    failures += nominal or cold_tail
    time = np.asarray(result.time_s, dtype=float)
    window = time <= duration + rewarm_s + 1e-9
    basal_probe = "basal" if "basal" in result.probes else "surface"

    def curve(values: Any) -> tuple[float, ...]:
        return tuple(np.asarray(values, dtype=float)[window].tolist()) if keep_curves else ()

    return Prediction(
        delivery=delivery,
        time_in_band_s=in_band,
        reached_band_at_s=reached_at,
        min_temp_c_by_layer=minima,
        margins=margins,
        failures=tuple(failures),
        case=build_case(job.tissue, delivery, rewarm_s),
        time_s=curve(time),
        surface_c=curve(result.probes["surface"]),
        basal_c=curve(result.probes[basal_probe]),
        intervals=intervals,
        tail_only=band_ok and not nominal and bool(cold_tail),
    )


def _grid(step: float, start: float, stop: float) -> list[float]:
    """start + k * step for k >= 1 up to stop, and stop itself (s)."""
    count = math.floor((stop - start) / step + 1e-9)
    values = [round(start + step * k, 6) for k in range(1, count + 1)]
    if not values or values[-1] < stop - 1e-9:
        values.append(stop)
    return values


def _simulate(runs: Sequence[tuple[_ZoneJob, Delivery]], rewarm_s: float = 0.0) -> list[Any]:
    """One batched engine call; a failed run is an error, never a silent half-result."""
    from cryoderm.physics.engine import simulate_many

    if not runs:
        return []
    results = simulate_many([build_case(job.tissue, delivery, rewarm_s) for job, delivery in runs])
    for (job, _), result in zip(runs, results, strict=True):
        if not result.ok:
            raise RuntimeError(f"the physics engine failed on {job.zone}: {result.message}")
    return results


@dataclass(frozen=True)
class _Option:
    """The best stop time of one run: its shortest qualifying one, or its nearest miss.

    key orders near misses: those that keep every limit first, then the most time in
    band, then the coldest surface reached (nearest the band), then the shortest."""

    delivery: Delivery
    ok: bool
    key: tuple[float, ...]


def _option(
    job: _ZoneJob,
    run: Delivery,
    result: Any,
    start_s: float,
    step_s: float,
    settings: PlannerSettings,
) -> _Option:
    stops = _grid(step_s, start_s, run.duration_s)
    scores = _score(job, result, stops, 0.0, settings)

    def delivery_at(index: int) -> Delivery:
        stop = float(scores.stops_s[index])
        if run.hold is None:
            return replace(run, approach_s=stop)
        return replace(run, hold_phase_s=round(stop - run.approach_s, 6))

    qualifying = np.nonzero(scores.ok)[0]
    if len(qualifying):
        index = int(qualifying[0])
        return _Option(delivery_at(index), True, (float(scores.stops_s[index]),))
    surface_min = scores.layer_min_c[job.tissue.layers[0].name]
    keys = [
        (
            float(scores.breaks_limit[i]),
            -float(scores.time_in_band_s[i]),
            float(surface_min[i]),
            float(scores.stops_s[i]),
        )
        for i in range(len(stops))
    ]
    index = min(range(len(stops)), key=keys.__getitem__)
    return _Option(delivery_at(index), False, keys[index])


def _switch_time(result: Any, job: _ZoneJob, settings: PlannerSettings) -> float | None:
    """When this run first brings the surface to the band's upper edge, rounded up to the
    switch grid, if every limit holds until then; None otherwise."""
    time = np.asarray(result.time_s, dtype=float)
    surface = np.asarray(result.probes["surface"], dtype=float)
    reached = np.nonzero(surface <= job.protocol.band_high_c)[0]
    if not len(reached):
        return None
    step = settings.switch_step_s
    switch = math.ceil(float(time[reached[0]]) / step - 1e-9) * step
    if not 0 < switch < job.protocol.max_exposure_s:
        return None
    return None if _score(job, result, [switch], 0.0, settings).breaks_limit[0] else switch


def _singles(
    runs: Sequence[tuple[_ZoneJob, Delivery]],
    settings: PlannerSettings,
    options: dict[str, list[_Option]],
    switches: dict[str, list[tuple[float, Technique]]],
) -> None:
    """One batched call of single-setting runs; every stop time on the zone's grid up to
    the run's end is judged from the same run."""
    for (job, run), result in zip(runs, _simulate(runs), strict=True):
        step = job.protocol.duration_step_s
        options[job.zone].append(_option(job, run, result, 0.0, step, settings))
        switch = _switch_time(result, job, settings)
        if switch is not None:
            switches[job.zone].append((switch, run.approach))


def _search(jobs: Sequence[_ZoneJob], settings: PlannerSettings) -> dict[str, _Option]:
    """Per zone, the shortest qualifying delivery or the nearest miss, in a few batched
    engine calls.

    The catalogue lists each modality's settings from the strongest cooling to the
    lightest, and a lighter setting cannot bring the surface to the band sooner; so the
    settings are tried in rounds, strongest first, up to the modality's search horizon,
    and a zone leaves the search at the first setting that qualifies."""
    options: dict[str, list[_Option]] = {job.zone: [] for job in jobs}
    switches: dict[str, list[tuple[float, Technique]]] = {job.zone: [] for job in jobs}
    horizon = {j.zone: min(j.protocol.max_exposure_s, j.protocol.search_horizon_s) for j in jobs}
    rounds = max(len(job.protocol.techniques) for job in jobs)
    for index in range(rounds):
        runs = [
            (job, Delivery(job.protocol.techniques[index], horizon[job.zone]))
            for job in jobs
            if index < len(job.protocol.techniques) and not any(o.ok for o in options[job.zone])
        ]
        if not runs:
            break
        _singles(runs, settings, options, switches)
    # The zones with nothing qualifying: every setting again, up to the zone's maximum.
    longer = [
        job
        for job in jobs
        if not any(o.ok for o in options[job.zone])
        and horizon[job.zone] < job.protocol.max_exposure_s
    ]
    for job in longer:
        options[job.zone], switches[job.zone] = [], []
    runs = [
        (job, Delivery(technique, job.protocol.max_exposure_s))
        for job in longer
        for technique in job.protocol.techniques
    ]
    _singles(runs, settings, options, switches)

    # Batch 2: where no single setting qualifies, approach with the fastest safe setting
    # until the band is reached, then continue with each other (lighter) setting.
    holds = []
    for job in jobs:
        if any(o.ok for o in options[job.zone]) or not switches[job.zone]:
            continue
        switch, approach = min(switches[job.zone], key=lambda pair: pair[0])
        rest = round(job.protocol.max_exposure_s - switch, 6)
        for hold in (*job.protocol.techniques, *job.protocol.hold_techniques):
            if hold != approach:
                holds.append((job, Delivery(approach, switch, hold, rest)))
    for (job, run), result in zip(holds, _simulate(holds), strict=True):
        step = settings.switch_step_s
        options[job.zone].append(_option(job, run, result, run.approach_s, step, settings))

    best = {}
    for job in jobs:
        ok = [o for o in options[job.zone] if o.ok]
        best[job.zone] = (
            min(ok, key=lambda o: o.delivery.duration_s)
            if ok
            else min(options[job.zone], key=lambda o: o.key)
        )
    return best


#: Rounds of searching again for picks whose cold tail breaks a limit, and the least rise
#: of the limits per round (K): cryoderm choices that bound the planner's time.
TAIL_ROUNDS = 3
TAIL_STEP_K = 0.5


def _tail_depth_k(prediction: Prediction) -> float:
    """How far (K) the cold tail lies below the nominal run, at the surface or in any layer."""
    m = prediction.margins
    surface = (m.nominal_to_floor_k or 0.0) - m.to_floor_k
    coldest = (m.nominal_to_freezing_k or 0.0) - m.to_freezing_k
    return max(surface, coldest, 0.0)


def _predict(
    chosen: Sequence[tuple[_ZoneJob, Delivery]], settings: PlannerSettings
) -> list[Prediction]:
    """Each zone's pick re-simulated with its rewarming (the prediction, which its case
    reproduces) and at the design points of its inputs' spreads (its intervals): one
    batched engine call for all of them."""
    from cryoderm.physics.engine import simulate_many
    from cryoderm.physics.intervals import (
        DEFAULT_SEED,
        PredictionIntervals,
        summarise,
        varied_cases,
    )

    n = settings.interval_samples
    cases: list[Case] = []
    varied_names = []
    for job, delivery in chosen:
        nominal = build_case(job.tissue, delivery, settings.rewarm_s)
        spreads, varied = varied_cases(nominal, n, DEFAULT_SEED)
        varied_names.append(tuple(s.name for s in spreads))
        # The varied runs are read for their minima and times only, all computed inside the
        # engine: one output sample, and no latent heat (three times faster). Every limit
        # judged lies above the tissue freezing point, where latent heat plays no part, and
        # the first time a tissue reaches that point is the same without it; below it the
        # runs err cold. Their minima differ from the full runs' by < 0.1 K (grid).
        cases += [
            nominal,
            *(
                replace(
                    case,
                    freezing=replace(case.freezing, enabled=False),
                    output=Output(sample_every_s=case.duration_s, probes=(Probe("surface", 0.0),)),
                )
                for case in varied
            ),
        ]
    results = simulate_many(cases)
    predictions = []
    for index, (job, delivery) in enumerate(chosen):
        result, *varied_results = results[index * (n + 1) : (index + 1) * (n + 1)]
        if not result.ok:
            raise RuntimeError(f"the physics engine failed on {job.zone}: {result.message}")
        metrics = [
            "min_surface_temp_c",
            "surface_time_below_10c_s",
            "freeze_risk_time_s",
            *(_metric_key(layer.name) for layer in job.tissue.layers),
        ]
        intervals = PredictionIntervals(
            parameters=varied_names[index],
            samples=n,
            seed=DEFAULT_SEED,
            metrics=summarise(varied_results, metrics),
            failed=sum(1 for r in varied_results if not r.ok),
            results=tuple(varied_results),
        )
        predictions.append(
            _judge(job, delivery, result, settings.rewarm_s, settings, True, intervals)
        )
    return predictions


def plan(request: PlanRequest) -> Plan:
    """Plan every zone of the request; raises TreatmentNotPermitted for a do-not-treat verdict
    and InvalidAnswer for an unknown goal, zone, modality or tissue refinement."""
    screening, pending, notes = _screening(request)
    modalities = load_safety_limits().modalities
    if request.modality not in modalities:
        raise InvalidAnswer("modality", request.modality, "one of " + ", ".join(modalities))
    settings = planner_settings()
    jobs = _jobs(request)
    if request.age_years is not None and _tissue_age(request.age_years) is None:
        notes.append(
            f"Age {request.age_years:g} is outside the adult skin-thickness tables: "
            "the tables' mean adult is used."
        )
    for goal in request.goals:
        if protocol(goal, jobs[0].zone, request.modality).evidence_grade == "none":
            notes.append(
                f"No evidence supports the goal {goal!r}: this plan delivers cooling only "
                "(see the evidence for each step)."
            )
    best = _search(jobs, settings)
    picks = {job.zone: (job, best[job.zone].delivery) for job in jobs}
    predictions = dict(zip(picks, _predict(list(picks.values()), settings), strict=True))
    # Picks whose nominal run keeps every limit but whose cold tail does not: search those
    # zones again with their limits raised by the tail's depth below the nominal run.
    for _ in range(TAIL_ROUNDS):
        again = [
            replace(job, tail_k=max(job.tail_k + TAIL_STEP_K, _tail_depth_k(predictions[zone])))
            for zone, (job, _) in picks.items()
            if predictions[zone].tail_only
        ]
        if not again:
            break
        found = _search(again, settings)
        redo = [(job, found[job.zone].delivery) for job in again]
        for (job, delivery), prediction in zip(redo, _predict(redo, settings), strict=True):
            picks[job.zone] = (job, delivery)
            predictions[job.zone] = prediction
    steps = []
    for zone, (job, delivery) in picks.items():
        prediction = predictions[zone]
        title = f"{job.zone}, {request.modality}: {delivery.describe()} (cryoderm plan: {', '.join(job.goals)})"
        prediction = replace(prediction, case=replace(prediction.case, title=title))
        precautions = request.verdict.precautions_for(job.zone) if request.verdict else ()
        steps.append(_step(job, request, prediction, precautions, settings))
    return Plan(
        steps=tuple(steps),
        goals=request.goals,
        modality=request.modality,
        screening=screening,
        pending_sign_off=pending,
        notes=tuple(notes),
    )


def _jobs(request: PlanRequest) -> list[_ZoneJob]:
    from cryoderm.physics.zones import tissue_for_zone

    if not request.goals:
        raise InvalidAnswer("goals", [], "at least one goal")
    if not request.zones:
        raise InvalidAnswer("zones", [], "at least one zone")
    if len(set(request.zones)) != len(request.zones):
        raise InvalidAnswer("zones", list(request.zones), "each zone once")
    unknown = set(request.thickness_overrides_mm) - set(request.zones)
    if unknown:
        raise InvalidAnswer(
            "thickness_overrides_mm",
            sorted(unknown)[0],
            "a zone of this plan: " + ", ".join(request.zones),
        )
    jobs = []
    for zone in request.zones:
        protocols = [protocol(goal, zone, request.modality) for goal in request.goals]
        # Goals share one exposure per zone: the band all of them aim at, the longest hold.
        low = max(p.band_low_c for p in protocols)
        high = min(p.band_high_c for p in protocols)
        if low >= high:
            raise InvalidAnswer(
                "goals", list(request.goals), f"their target bands do not overlap on {zone}"
            )
        merged = replace(
            protocols[0], band_low_c=low, band_high_c=high, hold_s=max(p.hold_s for p in protocols)
        )
        tissue = tissue_for_zone(
            zone,
            sex=request.sex,
            age_years=_tissue_age(request.age_years),
            thickness_overrides_mm=request.thickness_overrides_mm.get(zone),
        )
        jobs.append(_ZoneJob(zone, merged, tissue, request.goals))
    return jobs


def _tissue_age(age_years: float | None) -> float | None:
    """The age the zone tables can refine for (adults, data/tissue.toml [age]); None (the
    table's mean adult) outside it."""
    from cryoderm.physics.zones import age_rule

    rule = age_rule()
    if (
        age_years is None
        or not rule["min_age_years"].value <= age_years <= rule["max_age_years"].value
    ):
        return None
    return age_years


def _screening(request: PlanRequest) -> tuple[str, bool, list[str]]:
    verdict = request.verdict
    notes: list[str] = []
    if verdict is None:
        notes.append("The client has not been screened: screen before treating.")
        return "not screened", False, notes
    if verdict.outcome == "do-not-treat":
        raise TreatmentNotPermitted(
            tuple(
                f"{f.condition}: {f.reason}" for f in verdict.findings if f.grade == "do-not-treat"
            )
        )
    pending = verdict.outcome == "refer" and not request.referral_signed_off
    if pending:
        notes.append(
            "Pending sign-off: a clinician must sign off the referral, with a reason, before treatment."
        )
    if verdict.modality is not None and verdict.modality != request.modality:
        notes.append(
            f"The verdict was screened for {label('modality', verdict.modality)}, this plan "
            f"uses {label('modality', request.modality)}: screen again."
        )
    return verdict.outcome, pending, notes


def _step(
    job: _ZoneJob,
    request: PlanRequest,
    prediction: Prediction,
    precautions: tuple[str, ...],
    settings: PlannerSettings,
) -> PlanStep:
    p = job.protocol
    evidence = {}
    for goal in job.goals:
        entry = protocol(goal, job.zone, request.modality)
        evidence[goal] = entry.evidence_words
    return PlanStep(
        zone=job.zone,
        modality=request.modality,
        goals=job.goals,
        status="planned" if prediction.ok else "no-safe-protocol",
        band_c=(p.band_low_c, p.band_high_c),
        hold_s=p.hold_s,
        max_exposure_s=p.max_exposure_s,
        floor_temp_c=p.floor_temp_c,
        prediction=prediction,
        evidence=evidence,
        precautions=precautions,
        aftercare=p.aftercare,
        course_sessions=p.course_sessions,
        min_interval_h=p.min_interval_h,
        sources={**p.sources, **{f"planner {k}": v for k, v in settings.sources.items()}},
    )
