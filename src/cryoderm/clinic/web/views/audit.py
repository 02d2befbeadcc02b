"""The audit log viewer, for the medical director: browse, check the chain, export."""

from __future__ import annotations

import io

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from cryoderm.clinic import audit
from cryoderm.clinic.audit.models import AuditEntry
from cryoderm.clinic.web.access import page

PAGE_SIZE = 100


@page("audit.export")
def audit_log(request: HttpRequest) -> HttpResponse:
    entries = AuditEntry.objects.order_by("-seq")
    # A NUL cannot be in an entry (PostgreSQL refuses it, even in a comparison): dropped.
    filters = {
        k: request.GET.get(k, "").replace("\x00", "").strip()[:100]
        for k in ("actor", "action", "target")
    }
    for key, value in filters.items():
        if value:
            entries = entries.filter(**{f"{key}__icontains": value})
    paginator = Paginator(entries, PAGE_SIZE)
    context = {
        "page_obj": paginator.get_page(request.GET.get("page")),
        "filters": filters,
        "verification": audit.verify() if request.GET.get("verify") == "1" else None,
    }
    return render(request, "web/audit/log.html", context)


@page("audit.export")
def audit_export(request: HttpRequest) -> HttpResponse:
    stream = io.StringIO()
    audit.export(stream, actor=request.user)
    response = HttpResponse(stream.getvalue(), content_type="application/x-ndjson")
    response["Content-Disposition"] = 'attachment; filename="cryoderm-audit.jsonl"'
    return response
