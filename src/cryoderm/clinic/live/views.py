"""The live view: the page, its event stream (:mod:`.stream`), and the practitioner's
actions, each a call of one service (:mod:`cryoderm.clinic.records.services.live_control`).

Page views and the stream only read (the records, the journal): the forwarder thread of
``cryoderm serve`` writes what the interlock did into the records (:mod:`.forward`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from cryoderm.clinic.accounts.errors import PermissionRefused
from cryoderm.clinic.live import channel, stream
from cryoderm.clinic.live.forward import LiveId, forwarded_seq
from cryoderm.clinic.records.errors import RecordsError
from cryoderm.clinic.records.gates import GatesClosed
from cryoderm.clinic.records.models import SessionZone, TreatmentSession
from cryoderm.clinic.records.services import live_control, planning
from cryoderm.clinic.web.access import page
from cryoderm.clinic.web.plots import step_chart
from cryoderm.interlock.faults import FAULT_KINDS


def _session(pk: int) -> TreatmentSession:
    return get_object_or_404(
        TreatmentSession.objects.select_related("client", "device", "practitioner"), pk=pk
    )


def zone_views(session: TreatmentSession) -> list[dict[str, Any]]:
    """Each planned zone with its state (as last forwarded from the journal) and chart."""
    runs = {run.zone: run for run in SessionZone.objects.filter(session=session)}
    plan = planning.stored_plan(session)
    views = []
    for position, step in enumerate(plan.steps if plan is not None else ()):
        run = runs.get(step.zone) or SessionZone(session=session, zone=step.zone, position=position)
        horizon = max(step.max_exposure_s, step.duration_s) + 10.0
        views.append(
            {
                "step": step,
                "run": run,
                "live_id": str(LiveId(session.pk, step.zone)),
                "chart": step_chart(step, chart_id=f"chart-{step.zone}", x_max_s=horizon),
            }
        )
    return views


@page("session.view", "reading.view")
def live_page(request: HttpRequest, pk: int) -> HttpResponse:
    session = _session(pk)
    zones = zone_views(session)
    cold_on = next((z for z in zones if z["run"].status in SessionZone.COLD_ON), None)
    simulated = getattr(settings, "CRYODERM_INTERLOCK_SOURCE", "embedded") == "embedded"
    return render(
        request,
        "web/sessions/live.html",
        {
            "session": session,
            "zones": zones,
            "running": cold_on,
            "next_pending": next(
                (z for z in zones if z["run"].status == SessionZone.Status.PENDING), None
            ),
            "faults": FAULT_KINDS if simulated else (),
            "interlock": channel.health(),
            "forwarded": forwarded_seq(channel.journal_dir()),
        },
    )


@page("session.view", "reading.view")
def live_stream(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    session = _session(pk)
    raw = request.headers.get("Last-Event-ID") or request.GET.get("after") or "0"
    after = int(raw) if raw.isdigit() else 0
    live_ids = [str(LiveId(session.pk, zone)) for zone in session.zones]
    events = (
        stream.follow(live_ids, after)
        if isinstance(request, ASGIRequest)
        else stream.follow_sync(live_ids, after)
    )
    response = StreamingHttpResponse(events, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


def _act(request: HttpRequest, pk: int, call: Callable[[], Any], done: str = "") -> HttpResponse:
    """Run one service call for a POST and come back to the live page with its outcome."""
    if request.method != "POST":
        return redirect("web:session_live", pk)
    try:
        outcome = call()
    except (RecordsError, GatesClosed) as refused:
        return _answer(request, pk, str(refused), error=True)
    except PermissionRefused as refused:
        return _answer(request, pk, str(refused), error=True)
    message = (
        getattr(outcome, "message", "") if getattr(outcome, "status", "") == "pending" else done
    )
    return _answer(request, pk, message, error=getattr(outcome, "status", "") == "pending")


def _answer(request: HttpRequest, pk: int, message: str, *, error: bool) -> HttpResponse:
    if request.headers.get("HX-Request"):
        return HttpResponse(message, status=409 if error else 204)
    if message:
        (messages.error if error else messages.success)(request, message)
    return redirect("web:session_live", pk)


@page("session.start")
def live_start_zone(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda: live_control.start_zone(
            request.user,
            pk,
            request.POST.get("zone", ""),
            fault=request.POST.get("fault", "none"),
        ),
    )


@page("session.start")
def live_resume_after_stop(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda: live_control.resume_after_stop(
            request.user, pk, request.POST.get("zone", ""), request.POST.get("reason", "")
        ),
        "The zone is resumed.",
    )


@page("session.stop")
def live_end_zone(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda: live_control.end_zone(
            request.user, pk, request.POST.get("zone", ""), request.POST.get("reason", "")
        ),
        "The zone is closed.",
    )


ACTIONS: dict[str, Callable[..., Any]] = {
    "stop": lambda user, pk, post: live_control.stop_zone(
        user, pk, post.get("zone", ""), post.get("reason", "")
    ),
    "pause": lambda user, pk, post: live_control.pause_zone(user, pk, post.get("zone", "")),
    "resume": lambda user, pk, post: live_control.resume_zone(user, pk, post.get("zone", "")),
    "acknowledge": lambda user, pk, post: live_control.acknowledge(
        user, pk, post.get("zone", ""), post.get("alarm_id", "")
    ),
}


@page("session.stop")
def live_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """STOP, pause, resume (after a pause), acknowledge an alarm (POST)."""
    if action not in ACTIONS:
        return redirect("web:session_live", pk)
    return _act(request, pk, lambda: ACTIONS[action](request.user, pk, request.POST))


@page("session.stop")
def live_end(request: HttpRequest, pk: int) -> HttpResponse:
    """End the session now, with a reason (zones still open are ended in the interlock)."""
    if request.method != "POST":
        return redirect("web:session_live", pk)
    try:
        live_control.end_session(request.user, pk, request.POST.get("reason", ""))
    except (RecordsError, PermissionRefused) as refused:
        return _answer(request, pk, str(refused), error=True)
    messages.success(request, "The session is ended.")
    return redirect("web:session", pk)


@page("session.create")
def session_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel a planned session that never started, with a reason."""
    if request.method != "POST":
        return redirect("web:session", pk)
    try:
        live_control.cancel(request.user, pk, request.POST.get("reason", ""))
    except (RecordsError, PermissionRefused) as refused:
        messages.error(request, str(refused))
        return redirect("web:session", pk)
    messages.success(request, "The session is cancelled.")
    return redirect("web:session", pk)
