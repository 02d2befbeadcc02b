"""The PDF session report."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from cryoderm.clinic import audit
from cryoderm.clinic.records.models import TreatmentSession
from cryoderm.clinic.reports.session_pdf import session_report
from cryoderm.clinic.web.access import page


@page("session.view", "reading.view")
def session_report_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    session = get_object_or_404(
        TreatmentSession.objects.select_related("client", "practitioner", "device"), pk=pk
    )
    audit.record(request.user, "session.report", session, {"client": session.client_id})
    response = HttpResponse(session_report(session), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="session-{session.pk}.pdf"'
    return response
