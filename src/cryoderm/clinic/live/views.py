"""The live view: the page, its server-sent-event stream, and the operator's actions.

The stream sends the journal entries of the session's zones as events named by their kind
(``reading`` with the prediction, ``alarm``, ``alarm-ack``, ``alarm-cleared``, ``stop``,
``pause``, ``resume``, ``session-started``), each with its journal seq as the event id, so a
reconnecting browser resumes where it left off (Last-Event-ID). Each stream lasts at most
``STREAM_S``; the browser reconnects by itself. The stream only reads the journal: the
records are brought up to date by the page loads and the actions (:func:`runtime.sync`), so
a long-lived stream holds no database transaction.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from cryoderm.clinic.live import runtime
from cryoderm.clinic.live.forward import LiveId
from cryoderm.clinic.records.errors import RecordsError
from cryoderm.clinic.records.models import TreatmentSession
from cryoderm.clinic.records.services import planning
from cryoderm.clinic.web.access import page
from cryoderm.clinic.web.plots import step_chart
from cryoderm.interlock import InterlockError
from cryoderm.interlock.faults import FAULT_KINDS

STREAM_S = 30.0
POLL_S = 0.2


def _session(pk: int) -> TreatmentSession:
    return get_object_or_404(
        TreatmentSession.objects.select_related("client", "device", "practitioner"), pk=pk
    )


@page("session.view", "reading.view")
def live_page(request: HttpRequest, pk: int) -> HttpResponse:
    session = _session(pk)
    live = runtime.get()
    runtime.sync(session, request.user)
    states = runtime.zone_states(session, live.journal)
    steps = []
    plan = planning.stored_plan(session)
    for step in plan.steps if plan is not None else ():
        zone = step.zone
        horizon = max(step.max_exposure_s, step.duration_s) + 10.0
        steps.append(
            {
                "step": step,
                "state": states.get(zone, {}),
                "live_id": str(LiveId(session.pk, zone)),
                "chart": step_chart(step, chart_id=f"chart-{zone}", x_max_s=horizon),
            }
        )
    running = next(
        (s for s in steps if s["state"].get("started") and not s["state"].get("stop_reason")), None
    )
    return render(
        request,
        "web/sessions/live.html",
        {
            "session": session,
            "steps": steps,
            "running": running,
            "faults": FAULT_KINDS,
        },
    )


def _events(session: TreatmentSession, after: int) -> Iterator[str]:
    journal = runtime.get().journal
    live_ids = [str(LiveId(session.pk, zone)) for zone in session.zones]
    deadline = time.monotonic() + STREAM_S
    last_sent = time.monotonic()
    yield "retry: 1000\n\n"
    while time.monotonic() < deadline:
        entries = sorted(
            (
                e
                for live_id in live_ids
                for e in journal.read_after(after, limit=2000, session_id=live_id)
            ),
            key=lambda e: e.seq,
        )
        for entry in entries:
            after = entry.seq
            yield f"id: {entry.seq}\nevent: {entry.kind}\ndata: {json.dumps(entry.to_json())}\n\n"
            last_sent = time.monotonic()
        if time.monotonic() - last_sent > 5.0:
            yield ": still here\n\n"
            last_sent = time.monotonic()
        time.sleep(POLL_S)


@page("session.view", "reading.view")
def live_stream(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    session = _session(pk)
    raw = request.headers.get("Last-Event-ID") or request.GET.get("after") or "0"
    after = int(raw) if raw.isdigit() else 0
    response = StreamingHttpResponse(_events(session, after), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


def _done(request: HttpRequest, pk: int, error: str | None = None) -> HttpResponse:
    if request.headers.get("HX-Request"):
        return HttpResponse(error or "", status=409 if error else 204)
    if error:
        messages.error(request, error)
    return redirect("web:session_live", pk)


@page("session.start")
def live_start_zone(request: HttpRequest, pk: int) -> HttpResponse:
    session = _session(pk)
    if request.method != "POST":
        return redirect("web:session_live", pk)
    if session.status != TreatmentSession.Status.IN_PROGRESS:
        return _done(
            request,
            pk,
            f"The session is {session.get_status_display().lower()}: start it from its page first.",
        )
    try:
        runtime.get().start_zone(
            session, request.POST.get("zone", ""), request.POST.get("fault", "none")
        )
    except (RecordsError, InterlockError) as refused:
        return _done(request, pk, str(refused))
    return _done(request, pk)


@page("session.stop")
def live_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """stop, pause, resume, acknowledge one zone's interlock session (POST)."""
    session = _session(pk)
    if request.method != "POST" or action not in ("stop", "pause", "resume", "acknowledge"):
        return redirect("web:session_live", pk)
    zone = request.POST.get("zone", "")
    if zone not in session.zones:
        return _done(request, pk, f"zone {zone!r} is not one of this session's zones")
    try:
        runtime.get().operate(
            LiveId(session.pk, zone),
            action,
            request.user.get_username(),
            request.POST.get("alarm_id", ""),
        )
    except InterlockError as refused:
        return _done(request, pk, str(refused))
    runtime.sync(session, request.user)
    return _done(request, pk)


@page("session.stop")
def live_end(request: HttpRequest, pk: int) -> HttpResponse:
    """End the session now (zones not yet treated are left untreated, and named)."""
    session = _session(pk)
    if request.method != "POST":
        return redirect("web:session_live", pk)
    if session.status != TreatmentSession.Status.IN_PROGRESS:
        return redirect("web:session", pk)
    try:
        runtime.end_early(session, request.user)
    except (RecordsError, InterlockError) as refused:
        return _done(request, pk, str(refused))
    messages.success(request, "The session is ended.")
    return redirect("web:session", pk)
