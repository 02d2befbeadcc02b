"""The PDF session report."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from cryoderm.clinic.records.services import sessions as session_service
from cryoderm.clinic.reports.session_pdf import session_report
from cryoderm.clinic.web import queries
from cryoderm.clinic.web.access import page


@page("session.view", "reading.view")
def session_report_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    session = queries.get_or_404(session_service.get, request.user, pk, for_report=True)
    response = HttpResponse(session_report(session), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="session-{session.pk}.pdf"'
    return response
