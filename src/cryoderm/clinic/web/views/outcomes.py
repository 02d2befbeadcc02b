"""Outcomes: scores and instrumental measures at follow-up, and a trend chart per measure."""

from __future__ import annotations

from collections import defaultdict

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from cryoderm.clinic.records.errors import RecordsError
from cryoderm.clinic.records.models import Client, InstrumentalMeasure
from cryoderm.clinic.records.services import outcomes as outcome_service
from cryoderm.clinic.records.services import photos as photo_service
from cryoderm.clinic.web.access import page
from cryoderm.clinic.web.charts import Chart, Series
from cryoderm.clinic.web.charts import render as render_chart
from cryoderm.clinic.web.forms import MeasureForm, PhotoForm, ScoreForm, apply_error


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
                fields["unit"] = InstrumentalMeasure.UNITS[fields["quantity"]]
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
    first = None
    series: dict[str, list[tuple[float, float]]] = defaultdict(list)
    units: dict[str, str] = {}
    points = [
        (s.assessed_at, s.scale, s.score, "scale points")
        for s in client.scores.order_by("assessed_at")
    ]
    points += [
        (m.measured_at, f"{m.get_quantity_display()} · {m.zone}", m.value, m.unit)
        for m in client.measures.order_by("measured_at")
    ]
    for when, name, value, unit in sorted(points, key=lambda p: p[0]):
        first = first or when
        series[name].append(((when - first).total_seconds() / 86400, value))
        units[name] = unit
    charts = [
        render_chart(
            Chart(
                title=name,
                x_label=f"Days since the first outcome ({first:%d %b %Y})" if first else "Days",
                y_label=f"{name.split(' · ')[0]} ({units[name]})",
                series=[Series(name, [d for d, _ in pts], [v for _, v in pts], key="trend")],
                description=f"{name} over time for {client.full_name}",
                height=260,
            )
        )
        for name, pts in series.items()
    ]
    return render(request, "web/outcomes/trends.html", {"client": client, "charts": charts})
