"""Planning treatments: the one way a plan is made, stored on a session and read back.

A plan is always made for a client from the screening the gates will rely on (the screening
service's :func:`~.screening.current_screening` for the device's modality and the zones),
with the client's sex and birthday-aware age from the record, and stored on the session
with that screening. The caller gives goals (and, for a new session, the zones and the
device); never the screening, the modality of another device, or another client's data.
Where that screening would close a gate (none, out of date, do not treat) no plan is made.

Readers of a stored plan use :func:`stored_plan` (the typed ``Plan``) and the live guard uses
:func:`zone_guard`: its limits are the safety registry's for the device's modality and the
zone, never a modality written in the plan.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from cryoderm.clinic import audit
from cryoderm.clinical.errors import InvalidAnswer
from cryoderm.clinical.planner import Plan, PlanRequest, PlanStep, plan
from cryoderm.clinical.screening import Verdict
from cryoderm.interlock import GuardLimits, guard_limits

from .. import gates
from ..errors import Conflict, InvalidRecord
from ..models import Client, ClinicPolicy, Device, ScreeningResponse, TreatmentSession
from . import screening as screening_service
from . import sessions as session_service
from ._common import age_years, authorize, load, now_or, require_zone

__all__ = [
    "Plan",
    "PlanStep",
    "ZoneGuard",
    "age_years",
    "plan_session",
    "preview",
    "replan",
    "stored_plan",
    "zone_guard",
]


def _goals(goals: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(goals)
    if not chosen:
        raise InvalidRecord("goals", "choose at least one goal")
    return chosen


def _zones(zones: Iterable[str]) -> list[str]:
    chosen = [require_zone(f"zones[{i}]", zone) for i, zone in enumerate(zones)]
    if not chosen:
        raise InvalidRecord("zones", "name at least one face zone")
    if len(set(chosen)) != len(chosen):
        raise InvalidRecord("zones", "name each zone once")
    return chosen


def _check_modality(device: Device, modality: str | None) -> str:
    if modality is not None and modality != device.modality:
        raise InvalidRecord(
            "device", f"{device} is a {device.modality} device, not {modality}; choose one"
        )
    return str(device.modality)


@dataclass(frozen=True)
class _Made:
    plan: Plan
    screening: ScreeningResponse


def _make(
    actor: Any,
    client: Client,
    goals: tuple[str, ...],
    zones: list[str],
    modality: str,
    at: dt.datetime | None = None,
) -> _Made:
    """The plan for ``client`` from the screening the gates rely on; refused (GatesClosed)
    when that screening would close a screening gate other than a pending sign-off."""
    screening = screening_service.current_screening(client.pk, modality, zones)
    today = timezone.localdate(now_or(at))
    closed = [
        gate
        for gate in gates.screening_gates(
            screening, today, ClinicPolicy.current().screening_validity_days
        )
        if not gate.is_open and gate.name != "referrals-signed-off"
    ]
    if closed or screening is None:
        raise gates.GatesClosed(tuple(closed), doing="no plan can be made")
    audit.record(actor, "screening.read", screening, {"client": client.pk, "for": "plan"})
    made = plan(
        PlanRequest(
            goals=goals,
            zones=tuple(zones),
            modality=modality,
            sex=client.sex if client.sex in ("female", "male") else None,  # type: ignore[arg-type]
            age_years=float(age_years(client.date_of_birth, today)),
            verdict=Verdict.from_json_dict(screening.verdict),
            referral_signed_off=not screening_service.unsigned_referrals(screening),
        )
    )
    return _Made(made, screening)


@transaction.atomic
def preview(
    actor: Any, client_id: object, *, goals: Iterable[str], zones: Iterable[str], modality: str
) -> Plan:
    """The plan the client would get now (nothing stored but the audited screening read)."""
    authorize(actor, "plan.create")
    client = load(Client, client_id)
    return _make(actor, client, _goals(goals), _zones(zones), modality).plan


def _store(
    actor: Any, session: TreatmentSession, made: _Made, at: dt.datetime | None = None
) -> TreatmentSession:
    session.plan = made.plan.to_json_dict(curves=True)
    session.plan_screening = made.screening
    session.planned_at = now_or(at)
    session.save(update_fields=["plan", "plan_screening", "planned_at"])
    audit.record(
        actor,
        "session.plan",
        session,
        {
            "client": session.client_id,
            "screening": made.screening.pk,
            "modality": made.plan.modality,
            "goals": list(made.plan.goals),
        },
    )
    return session


@transaction.atomic
def plan_session(
    actor: Any,
    *,
    client_id: object,
    device_id: object,
    zones: Iterable[str],
    goals: Iterable[str],
    modality: str | None = None,
    practitioner_id: object | None = None,
    appointment_id: object | None = None,
    notes: str = "",
    at: dt.datetime | None = None,
) -> TreatmentSession:
    """A new planned session with its plan, for the device's modality (``modality``, when
    given, must be the device's). ``practitioner_id`` defaults to the actor's own record.
    ``at`` (default now) is when it is planned: the demo seeds past sessions with it."""
    authorize(actor, "plan.create")
    client = load(Client, client_id)
    device = load(Device, device_id)
    chosen_zones = _zones(zones)
    made = _make(actor, client, _goals(goals), chosen_zones, _check_modality(device, modality), at)
    session = session_service.create(
        actor,
        client_id=client.pk,
        practitioner_id=practitioner_id,
        device_id=device.pk,
        zones=chosen_zones,
        appointment_id=appointment_id,
        notes=notes,
    )
    return _store(actor, session, made, at)


@transaction.atomic
def replan(
    actor: Any,
    session_id: object,
    *,
    goals: Iterable[str],
    zones: Iterable[str] | None = None,
    modality: str | None = None,
) -> TreatmentSession:
    """Plan a planned session again (its client, zones and device; the current screening).

    ``zones`` and ``modality``, when given, only confirm what the session treats: a plan for
    other zones or another modality is refused, never stored on this session."""
    authorize(actor, "plan.create")
    session = load(TreatmentSession, session_id, lock=True)
    if session.status != TreatmentSession.Status.PLANNED:
        raise Conflict(f"session {session.pk} is {session.status}; its plan is final", "plan")
    if zones is not None and sorted(_zones(zones)) != sorted(session.zones):
        raise InvalidRecord(
            "zones", f"session {session.pk} treats {', '.join(session.zones)}; plan those zones"
        )
    device_modality = _check_modality(session.device, modality)
    made = _make(actor, session.client, _goals(goals), list(session.zones), device_modality)
    return _store(actor, session, made)


def stored_plan(session: TreatmentSession) -> Plan | None:
    """The session's plan as typed objects, or None when it has none (or none readable:
    the plan-current gate then says why)."""
    if not session.plan:
        return None
    try:
        return Plan.from_json_dict(session.plan)
    except InvalidAnswer:
        return None


@dataclass(frozen=True)
class ZoneGuard:
    """What the interlock guards one zone of a running session with: the plan's step for
    the zone (its prediction and planned duration) and the limits of the safety registry
    for the zone and the *device's* modality, the exposure shortened to the plan's maximum
    when that is shorter."""

    step: PlanStep
    limits: GuardLimits
    modality: str


def zone_guard(session: TreatmentSession, zone: str) -> ZoneGuard:
    """The guard for ``zone`` of an in-progress ``session``; refused when the session does
    not treat the zone or its plan is not the one the gates accepted for it."""
    if session.status != TreatmentSession.Status.IN_PROGRESS:
        raise Conflict(f"session {session.pk} is {session.status}, not in progress", "status")
    if zone not in session.zones:
        raise InvalidRecord(
            "zone", f"{zone!r} is not a zone of session {session.pk} ({', '.join(session.zones)})"
        )
    stored = stored_plan(session)
    if stored is None:
        raise Conflict(f"session {session.pk} has no readable plan", "plan")
    problems = gates.plan_mismatches(session, stored)
    if session.plan_screening_id is None or session.plan_screening_id != session.screening_id:
        problems.append("the plan was not made from the screening the session started under")
    step = stored.step_for(zone)
    if problems or step is None:
        raise Conflict(
            f"the plan of session {session.pk} cannot guard {zone}: "
            + ("; ".join(problems) or "it has no step for this zone"),
            "plan",
        )
    modality = str(session.device.modality)
    registry = guard_limits(zone, modality)
    return ZoneGuard(
        step=step,
        limits=guard_limits(
            zone, modality, max_exposure_s=min(registry.max_exposure_s, step.max_exposure_s)
        ),
        modality=modality,
    )
