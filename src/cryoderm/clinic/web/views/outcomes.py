"""Outcomes: scores and instrumental measures at follow-up, and a trend chart per measure."""

from __future__ import annotations

from collections import defaultdict

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from cryoderm.clinic.records.errors import RecordsError
from cryoderm.clinic.records.models import Client
from cryoderm.clinic.records.services import outcomes as outcome_service
from cryoderm.clinic.records.services import photos as photo_service
from cryoderm.clinic.web.access import page
from cryoderm.clinic.web.forms import MeasureForm, PhotoForm, ScoreForm, apply_error
from cryoderm.clinic.web.trends import TrendPoint, trend_chart
from cryoderm.data import labels


@page("outcome.record")
def outcome_new(request: HttpRequest, pk: int) -> HttpResponse:
    client = get_object_or_404(Client, pk=pk)
    session_id = request.GET.get("session") or request.POST.get("session") or None
    score_form = ScoreForm(prefix="s")
    measure_form = MeasureForm(prefix="m")
    photo_form = PhotoForm(prefix="p")
    if request.method == "POST" and "add_photo" in request.POST:
        photo_form = PhotoForm(request.POST, request.FILES, prefix="p")
        if photo_form.is_valid():
            data = photo_form.cleaned_data
            try:
                photo_service.add(
                    request.user,
                    client.pk,
                    image=data["image"].read(),
                    view=data["view"],
                    phase=data["phase"],
                    use=data["use"],
                    session_id=session_id,
                )
            except RecordsError as error:
                apply_error(photo_form, error, lambda f: "use" if f in ("use", "consent") else f)
            else:
                messages.success(request, "Photograph added.")
                return redirect("web:client", client.pk)
    elif request.method == "POST":
        if "record_score" in request.POST:
            score_form = ScoreForm(request.POST, prefix="s")
            form, record = score_form, outcome_service.record_score
        else:
            measure_form = MeasureForm(request.POST, prefix="m")
            form, record = measure_form, outcome_service.record_measure
        if form.is_valid():
            fields = dict(form.cleaned_data)
            if form is measure_form:
                fields["unit"] = outcome_service.measures()[fields["quantity"]].unit
            try:
                record(request.user, client.pk, session_id=session_id, **fields)
            except RecordsError as error:
                apply_error(form, error, lambda f: f)
            else:
                messages.success(request, "Outcome recorded.")
                return redirect("web:outcome_trends", client.pk)
    return render(
        request,
        "web/outcomes/new.html",
        {
            "client": client,
            "score_form": score_form,
            "measure_form": measure_form,
            "photo_form": photo_form,
            "session_id": session_id,
        },
    )


@page("outcome.view")
def outcome_trends(request: HttpRequest, pk: int) -> HttpResponse:
    client = get_object_or_404(Client, pk=pk)
    scores: dict[str, list[TrendPoint]] = defaultdict(list)
    bounds: dict[str, tuple[float, float]] = {}
    for s in client.scores.order_by("assessed_at"):
        scores[s.scale].append(
            TrendPoint(timezone.localdate(s.assessed_at), s.score, s.get_rater_display())
        )
        low, high = bounds.get(s.scale, (s.scale_min, s.scale_max))
        bounds[s.scale] = (min(low, s.scale_min), max(high, s.scale_max))
    measures: dict[tuple[str, str, str], list[TrendPoint]] = defaultdict(list)
    for m in client.measures.order_by("measured_at"):
        name = (m.get_quantity_display(), labels.label("zone", m.zone), m.unit)
        measures[name].append(TrendPoint(timezone.localdate(m.measured_at), m.value, m.instrument))
    who = client.full_name
    charts = [
        trend_chart(
            scale,
            scale,
            "scale points",
            pts,
            y_range=bounds[scale],
            description=f"{scale} of {who}",
        )
        for scale, pts in scores.items()
    ] + [
        trend_chart(f"{quantity} · {zone}", quantity, unit, pts, description=f"{quantity} of {who}")
        for (quantity, zone, unit), pts in measures.items()
    ]
    return render(request, "web/outcomes/trends.html", {"client": client, "charts": charts})
