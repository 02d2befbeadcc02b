"""Project-level views: a health probe for deployments and a plain landing page."""

from __future__ import annotations

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import format_html


def health(request: HttpRequest) -> JsonResponse:
    """200 when the database answers, 503 otherwise; reveals no data."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse({"status": "unavailable", "database": "down"}, status=503)
    return JsonResponse({"status": "ok", "database": connection.vendor})


def home(request: HttpRequest) -> HttpResponse:
    """A landing page pointing to the API schema."""
    return HttpResponse(
        format_html(
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<title>cryoderm clinic</title></head><body><h1>cryoderm clinic</h1>"
            "<p>The JSON API is described at <a href='{}'>{}</a>.</p></body></html>",
            "/api/docs",
            "/api/docs",
        )
    )
