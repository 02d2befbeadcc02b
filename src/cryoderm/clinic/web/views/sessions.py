"""The session record: the plan per zone (curves, band, floor, margins, evidence in plain
words), the gates before the start, and after it the whole measured curve against the plan,
the alarms and the events."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from cryoderm.clinic.records.errors import RecordsError
from cryoderm.clinic.records.gates import GatesClosed
from cryoderm.clinic.records.models import SkinReading, TreatmentSession
from cryoderm.clinic.records.services import planning
from cryoderm.clinic.records.services import sessions as session_service
from cryoderm.clinic.web.access import allowed, page
from cryoderm.clinic.web.plots import depth_chart, step_chart


def _readings_by_zone(session: TreatmentSession) -> dict[str, list[tuple[float, float]]]:
    series: dict[str, list[tuple[float, float]]] = {}
    rows = SkinReading.objects.filter(session=session).order_by("zone", "elapsed_s")
    for zone, elapsed, temp in rows.values_list("zone", "elapsed_s", "skin_temp_c"):
        series.setdefault(zone, []).append((elapsed, temp))
    return series


def step_views(session: TreatmentSession, plan: planning.Plan | None) -> list[dict[str, Any]]:
    """Each planned zone with its charts (measured readings drawn over the plan)."""
    if plan is None:
        return []
    readings = _readings_by_zone(session)
    return [
        {
            "step": step,
            "time_chart": step_chart(step, readings=readings.get(step.zone, ())),
            "depth_chart": depth_chart(step),
            "readings": len(readings.get(step.zone, ())),
            "min_measured_c": min((t for _, t in readings.get(step.zone, ())), default=None),
        }
        for step in plan.steps
    ]


@page("session.view")
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    session = get_object_or_404(
        TreatmentSession.objects.select_related(
            "client", "practitioner", "device", "plan_screening"
        ),
        pk=pk,
    )
    plan = planning.stored_plan(session)
    context: dict[str, Any] = {
        "session": session,
        "plan": plan,
        "steps": step_views(session, plan),
        "alarms": session.alarms.select_related("acknowledged_by"),
        "events": session.events.select_related("actor"),
        "may_start": allowed(request, "session.start"),
        "may_cancel": allowed(request, "session.create"),
    }
    if session.status == TreatmentSession.Status.PLANNED:
        context["gates"] = session_service.check_gates(request.user, session.pk).gates
    return render(request, "web/sessions/detail.html", context)


@page("session.start")
def session_start(request: HttpRequest, pk: int) -> HttpResponse:
    """Start through the gates; the live view then guards the first zone."""
    if request.method != "POST":
        return redirect("web:session", pk)
    try:
        session_service.start(request.user, pk)
    except (GatesClosed, RecordsError) as refused:
        messages.error(request, str(refused))
        return redirect("web:session", pk)
    return redirect("web:session_live", pk)
