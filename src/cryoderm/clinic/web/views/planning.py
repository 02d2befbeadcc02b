"""Planning: the face map to pick zones, goals and modality; the plan becomes a planned
session whose page shows the predicted curves, margins and evidence."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from cryoderm.clinic.records.errors import RecordsError
from cryoderm.clinic.records.gates import GatesClosed
from cryoderm.clinic.records.models import Client
from cryoderm.clinic.records.services import planning
from cryoderm.clinic.web.access import page
from cryoderm.clinic.web.facemap import map_zones
from cryoderm.clinic.web.forms import PlanForm, apply_error
from cryoderm.clinical.errors import ClinicalError


@page("plan.create", "session.create")
def plan_new(request: HttpRequest, pk: int) -> HttpResponse:
    client = get_object_or_404(Client, pk=pk)
    form = PlanForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            session = planning.plan_session(
                request.user,
                client_id=client.pk,
                goals=data["goals"],
                zones=data["zones"],
                modality=data["modality"],
                device_id=data["device"].pk,
            )
        except (ClinicalError, RecordsError, GatesClosed) as error:
            apply_error(form, error, lambda f: f.split("[")[0])
        else:
            messages.success(request, "The plan is ready. Check it, then start the session.")
            return redirect("web:session", session.pk)
    chosen = form["zones"].value() or []
    return render(
        request,
        "web/planning/new.html",
        {
            "client": client,
            "form": form,
            "map_zones": map_zones([z for z, _ in form.fields["zones"].choices], chosen),
        },
    )
