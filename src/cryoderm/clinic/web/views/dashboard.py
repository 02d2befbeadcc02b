"""The dashboard (sign-in and sign-out: ``signin``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from cryoderm.clinic.web import queries
from cryoderm.clinic.web.access import allowed, page


@page()
def dashboard(request: HttpRequest) -> HttpResponse:
    context: dict[str, object] = {"appointments": queries.todays_appointments()}
    if allowed(request, "session.view"):
        context["in_progress"] = queries.sessions_in_progress()
    if allowed(request, "device.view"):
        context["device_due"] = queries.device_due_items()
    context["certifications_due"] = queries.certification_due_items()
    return render(request, "web/dashboard.html", context)
