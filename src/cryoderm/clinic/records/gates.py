"""The gates a treatment session must pass before it starts (docs/clinic.md).

Suitable clients, trained professionals, properly maintained equipment: each is a gate,
checked on the day the session starts.

============================  ====================================================
gate                          open when
============================  ====================================================
``screening-current``         the client's newest screening for this modality (or for
                              every modality) and the session's zones (or every zone)
                              is younger than the clinic's ``screening_validity_days``
``screening-verdict``         that screening's verdict is not ``do-not-treat``
``referrals-signed-off``      every ``refer`` finding of it has a sign-off
``plan-current``              the session has a plan made for its zones and its device's
                              modality, from that same screening, every zone planned
``consent-signed``            the client's treatment consent is signed under the current
                              text and not withdrawn
``practitioner-qualified``    the practitioner is active and holds a qualification for
                              the device's modality valid today
``practitioner-of-record``    the user starting the session is its practitioner of record
                              (nobody starts a session under a colleague's name)
``interval-since-last``       no other session of the client is in progress, and every
                              zone's last cold (any modality) ended at least the minimum
                              interval between sessions ago (the protocol catalogue's
                              ``min_interval_h`` for the plan's goals, zone and modality)
``device-calibrated``         the device is in service and its last passed calibration is
                              not older than its calibration interval
``device-serviced``           the device is not overdue for service and has no open
                              major fault
============================  ====================================================

:func:`evaluate` returns every gate with its state (for a checklist on screen);
:func:`require_open` raises :class:`GatesClosed` naming each closed gate and how to clear
it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils import timezone

from cryoderm.clinical import catalogue
from cryoderm.clinical.errors import InvalidAnswer
from cryoderm.clinical.planner import Plan
from cryoderm.data.labels import label, label_list
from cryoderm.errors import NotPermitted

from .models import (
    ClinicPolicy,
    Consent,
    ConsentScope,
    Device,
    DeviceFault,
    Practitioner,
    ScreeningResponse,
    TreatmentSession,
)
from .services._common import age_years
from .services.consent import active, current_text
from .services.screening import current_screening, unsigned_referrals

GATES = (
    "screening-current",
    "screening-verdict",
    "referrals-signed-off",
    "plan-current",
    "consent-signed",
    "practitioner-qualified",
    "practitioner-of-record",
    "interval-since-last",
    "device-calibrated",
    "device-serviced",
)


@dataclass(frozen=True)
class Gate:
    """One gate's state: ``name`` (one of GATES), ``is_open``, what was found
    (``detail``) and, when closed, ``how_to_clear``."""

    name: str
    is_open: bool
    detail: str
    how_to_clear: str = ""

    def __str__(self) -> str:
        # As the practitioner reads it: the gate's label, "passed" or "blocked" and why.
        if self.is_open:
            return f"{label('gate', self.name)}: passed ({self.detail})"
        return f"{label('gate', self.name)}: blocked, {self.detail}. To clear: {self.how_to_clear}"


class GatesClosed(NotPermitted):
    """The session may not start: one or more gates are closed (listed in ``closed``)."""

    def __init__(self, closed: tuple[Gate, ...], doing: str = "the session cannot start") -> None:
        self.closed = closed
        self.field = closed[0].name
        lines = "; ".join(str(gate) for gate in closed)
        super().__init__(f"{doing}: {lines}")


@dataclass(frozen=True)
class Evaluation:
    """Every gate for one session on one day; ``screening`` and ``consent`` are the records
    the open gates relied on (stored on the session when it starts)."""

    gates: tuple[Gate, ...]
    screening: ScreeningResponse | None
    consent: Consent | None

    @property
    def closed(self) -> tuple[Gate, ...]:
        return tuple(gate for gate in self.gates if not gate.is_open)

    @property
    def all_open(self) -> bool:
        return not self.closed


def record_changed_since(screening: ScreeningResponse) -> list[str]:
    """How the client's record now contradicts what the screening was made for (the age
    on the screening day, from the date of birth, and the registered sex): a date of birth
    corrected from an adult's to a minor's after a clear screening must not leave that
    screening open the gates."""
    client = screening.client
    answers = screening.answers if isinstance(screening.answers, dict) else {}
    changed = []
    on = timezone.localdate(screening.screened_at)
    age_then = age_years(client.date_of_birth, on)
    screened_age = answers.get("age_years")
    if isinstance(screened_age, int | float) and int(screened_age) != age_then:
        changed.append(
            f"it was for age {screened_age:g}, the date of birth {client.date_of_birth} "
            f"gives {age_then} on {on}"
        )
    screened_sex = answers.get("sex")
    if client.sex in ("female", "male") and screened_sex not in (None, client.sex):
        changed.append(f"it was for sex {screened_sex}, the record says {client.sex}")
    return changed


def screening_gates(
    screening: ScreeningResponse | None, today: dt.date, validity_days: int
) -> list[Gate]:
    """screening-current, screening-verdict and referrals-signed-off for ``screening``."""
    if screening is None:
        return [
            Gate(
                "screening-current",
                False,
                "the client has no screening for this modality and these zones",
                "screen the client (answers and verdict) for this modality and zones",
            ),
            Gate(
                "screening-verdict",
                False,
                "no verdict without a screening",
                "screen the client first",
            ),
            Gate(
                "referrals-signed-off", False, "no screening to sign off", "screen the client first"
            ),
        ]
    screened_on = screening.screened_at.date()
    age_days = (today - screened_on).days
    changed = record_changed_since(screening)
    current = (
        Gate(
            "screening-current",
            False,
            f"the client's record was corrected after the screening of {screened_on}: "
            + "; ".join(changed),
            "repeat the screening: it was made for the record as it was then",
        )
        if changed
        else Gate(
            "screening-current",
            age_days <= validity_days,
            f"screened on {screened_on} ({age_days} days ago; valid {validity_days} days)",
            "repeat the screening: it is older than the clinic's validity period",
        )
    )
    verdict = Gate(
        "screening-verdict",
        screening.outcome != ScreeningResponse.Outcome.DO_NOT_TREAT,
        f"the verdict is {label('grade', screening.outcome)}",
        "do not treat: the verdict forbids it ("
        + label_list("rule", screening.rule_ids("do-not-treat"))
        + "); a new screening may only change this if the client's answers changed",
    )
    refer = screening.rule_ids("refer")
    missing = unsigned_referrals(screening)
    referrals = Gate(
        "referrals-signed-off",
        not missing,
        f"refer findings not signed off: {label_list('rule', missing)}"
        if missing
        else f"{len(refer)} refer finding(s), all signed off",
        "a clinician and a second clinician sign off each refer finding with a reason",
    )
    return [current, verdict, referrals]


def plan_mismatches(session: TreatmentSession, plan: Plan) -> list[str]:
    """Why ``plan`` may not guard ``session`` (empty: it may): the plan must be for the
    session's zones and its device's modality, with every zone planned."""
    problems = []
    modality = session.device.modality
    if plan.modality != modality:
        problems.append(
            f"the plan is for {label('modality', plan.modality)}, the device is a "
            f"{label('modality', modality)} device"
        )
    planned = sorted(step.zone for step in plan.steps)
    if planned != sorted(session.zones):
        problems.append(
            f"the plan treats {label_list('zone', planned)}, the session "
            f"{label_list('zone', session.zones)}"
        )
    unsafe = [step.zone for step in plan.steps if step.status != "planned"]
    if unsafe:
        problems.append(f"no safe protocol was found for {label_list('zone', unsafe)}")
    return problems


def _plan_gate(session: TreatmentSession, screening: ScreeningResponse | None) -> Gate:
    how = "plan the session again (goals for its zones) with the client's current screening"
    if not session.plan:
        return Gate("plan-current", False, "the session has no plan", how)
    try:
        plan = Plan.from_json_dict(session.plan)
    except InvalidAnswer as error:
        return Gate("plan-current", False, f"the stored plan cannot be read ({error})", how)
    problems = plan_mismatches(session, plan)
    if screening is None or session.plan_screening_id != screening.pk:
        made_from = (
            f"screening {session.plan_screening_id}"
            if session.plan_screening_id
            else "no screening"
        )
        relied_on = f"screening {screening.pk}" if screening is not None else "none"
        problems.append(f"the plan was made from {made_from}; the gates rely on {relied_on}")
    if problems:
        return Gate("plan-current", False, "; ".join(problems), how)
    return Gate(
        "plan-current",
        True,
        f"planned {session.planned_at:%Y-%m-%d %H:%M} from screening {screening.pk}"
        if session.planned_at
        else f"planned from screening {screening.pk}",
    )


def _consent_gate(session: TreatmentSession) -> tuple[Gate, Consent | None]:
    text = current_text(ConsentScope.TREATMENT)
    consent = active(session.client, ConsentScope.TREATMENT)
    if consent is None:
        return Gate(
            "consent-signed",
            False,
            "no signed treatment consent",
            "the client signs the treatment consent",
        ), None
    if text is not None and consent.text_id != text.pk:
        return Gate(
            "consent-signed",
            False,
            f"the treatment consent was signed under version {consent.text.version}; "
            f"the current text is version {text.version}",
            "the client signs the current version of the treatment consent",
        ), None
    return Gate("consent-signed", True, f"signed on {consent.signed_at:%Y-%m-%d}"), consent


def _practitioner_gate(practitioner: Practitioner, modality: str, today: dt.date) -> Gate:
    if not practitioner.is_active:
        return Gate(
            "practitioner-qualified",
            False,
            f"{practitioner} is not active",
            "choose an active practitioner",
        )
    qualification = practitioner.qualification_for(modality, today)
    if qualification is None:
        last = practitioner.qualifications.filter(modality=modality).order_by("-expires_on").first()
        found = (
            f"{practitioner}'s {label('modality', modality)} qualification expired on {last.expires_on}"
            if last is not None and last.expires_on < today
            else f"{practitioner} holds no valid {label('modality', modality)} qualification"
        )
        return Gate(
            "practitioner-qualified",
            False,
            found,
            f"record a current {label('modality', modality)} qualification or choose a qualified practitioner",
        )
    return Gate(
        "practitioner-qualified",
        True,
        f"{qualification.title}, valid until {qualification.expires_on}",
    )


def _of_record_gate(practitioner: Practitioner, actor: Any) -> Gate:
    if getattr(actor, "pk", None) is not None and actor.pk == practitioner.user_id:
        return Gate("practitioner-of-record", True, f"{practitioner} starts their own session")
    who = actor.get_username() if hasattr(actor, "get_username") else str(actor)
    return Gate(
        "practitioner-of-record",
        False,
        f"{who} is not this session's practitioner of record ({practitioner})",
        f"{practitioner} starts the session, or the session is planned again under the "
        "practitioner who treats",
    )


def _min_interval_h(plan: Plan, zone: str, modality: str) -> float:
    """The minimum interval before the next cold on ``zone``: the largest of the plan step's
    and the protocol catalogue's (for each of the step's goals), so that a stored plan can
    only lengthen it."""
    step = plan.step_for(zone)
    hours = [step.min_interval_h] if step is not None else []
    for goal in step.goals if step is not None else ():
        try:
            hours.append(catalogue.protocol(goal, zone, modality).min_interval_h)
        except InvalidAnswer:
            continue
    return max(hours, default=max(p.min_interval_h for p in catalogue.all_protocols()))


def _interval_gate(session: TreatmentSession, now: dt.datetime) -> Gate:
    """interval-since-last: the client's other started sessions, by the zones they treated."""
    how = "wait until the minimum interval has passed, or treat other zones"
    plan = None
    if session.plan:
        try:
            plan = Plan.from_json_dict(session.plan)
        except InvalidAnswer:
            plan = None
    if plan is None:
        return Gate(
            "interval-since-last",
            False,
            "the minimum interval between sessions comes from the plan; the session has none",
            "plan the session",
        )
    modality = session.device.modality
    intervals = {zone: _min_interval_h(plan, zone, modality) for zone in session.zones}
    longest = dt.timedelta(hours=max(intervals.values()))
    others = (
        TreatmentSession.objects.filter(client_id=session.client_id, started_at__isnull=False)
        .exclude(pk=session.pk)
        .filter(
            models.Q(status=TreatmentSession.Status.IN_PROGRESS)
            | models.Q(ended_at__gt=now - longest)
        )
        .order_by("-started_at")
    )
    problems = []
    for other in others:
        if other.status == TreatmentSession.Status.IN_PROGRESS:
            problems.append(f"session {other.pk} of this client is in progress")
            continue
        for zone in session.zones:
            if zone not in other.zones or other.ended_at is None:
                continue
            since_h = (now - other.ended_at).total_seconds() / 3600
            if since_h < intervals[zone]:
                problems.append(
                    f"{label('zone', zone)} was treated in session {other.pk}, which ended "
                    f"{since_h:.1f} h ago ({timezone.localtime(other.ended_at):%Y-%m-%d %H:%M}); "
                    f"at least {intervals[zone]:g} h between sessions"
                )
    if problems:
        return Gate("interval-since-last", False, "; ".join(problems), how)
    return Gate(
        "interval-since-last",
        True,
        "no session of these zones within "
        + ", ".join(f"{label('zone', z)} {h:g} h" for z, h in intervals.items()),
    )


def _device_gates(device: Device, today: dt.date) -> list[Gate]:
    if device.status != Device.Status.IN_SERVICE:
        out = Gate(
            "device-calibrated",
            False,
            f"{device} is {device.get_status_display().lower()}",
            "return the device to service or choose another device",
        )
    else:
        due = device.calibration_due_on()
        if due is None:
            out = Gate(
                "device-calibrated",
                False,
                f"{device} has no passed calibration",
                "calibrate the device and record the calibration",
            )
        else:
            out = Gate(
                "device-calibrated",
                due >= today,
                f"calibration due on {due}",
                "calibrate the device: its calibration is overdue",
            )
    service_due = device.service_due_on()
    open_major = DeviceFault.objects.filter(
        device=device, severity=DeviceFault.Severity.MAJOR, resolved_at__isnull=True
    ).first()
    if open_major is not None:
        serviced = Gate(
            "device-serviced",
            False,
            f"open major fault {open_major.code or open_major.pk}: {open_major.description}",
            "repair the device and record the fault's resolution",
        )
    else:
        serviced = Gate(
            "device-serviced",
            service_due >= today,
            f"service due on {service_due}",
            "have the device serviced and record the service",
        )
    return [out, serviced]


def evaluate(
    session: TreatmentSession, today: dt.date, actor: Any, now: dt.datetime | None = None
) -> Evaluation:
    """Every gate for ``session`` started by ``actor`` on ``today`` (at ``now``, default the
    clock's time), open or closed, in GATES order."""
    policy = ClinicPolicy.current()
    screening = current_screening(session.client_id, session.device.modality, session.zones)
    consent_gate, consent = _consent_gate(session)
    gates = (
        *screening_gates(screening, today, policy.screening_validity_days),
        _plan_gate(session, screening),
        consent_gate,
        _practitioner_gate(session.practitioner, session.device.modality, today),
        _of_record_gate(session.practitioner, actor),
        _interval_gate(session, now if now is not None else timezone.now()),
        *_device_gates(session.device, today),
    )
    return Evaluation(gates=gates, screening=screening, consent=consent)


def require_open(
    session: TreatmentSession, today: dt.date, actor: Any, now: dt.datetime | None = None
) -> Evaluation:
    """The evaluation when every gate is open; else raise :class:`GatesClosed`."""
    evaluation = evaluate(session, today, actor, now)
    if not evaluation.all_open:
        raise GatesClosed(evaluation.closed)
    return evaluation
