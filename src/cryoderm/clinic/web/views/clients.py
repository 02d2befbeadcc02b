"""Clients: search and list, register, and the client page with the whole history."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from cryoderm.clinic.records.errors import Conflict, RecordsError
from cryoderm.clinic.records.models import Client
from cryoderm.clinic.records.services import clients as client_service
from cryoderm.clinic.records.services import corrections
from cryoderm.clinic.records.services import photos as photo_service
from cryoderm.clinic.web import queries
from cryoderm.clinic.web.access import allowed, page
from cryoderm.clinic.web.forms import ClientForm, apply_error


@page("client.view")
def client_list(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("q", "").strip()[:100]
    try:
        found = client_service.search(request.user, text)
    except RecordsError as refused:
        messages.error(request, str(refused))
        found, text = [], ""
    context = {"clients": found, "q": text}
    if request.headers.get("HX-Request"):
        return render(request, "web/clients/_rows.html", context)
    return render(request, "web/clients/list.html", context)


@page("client.view")
def client_detail(request: HttpRequest, pk: int) -> HttpResponse:
    client = queries.get_or_404(client_service.get, request.user, pk)
    context: dict[str, object] = {
        "client": client,
        "duplicates": client_service.possible_duplicates(client),
        "appointments": client.appointments.select_related("practitioner", "room", "device"),
        "consents": client.consents.select_related("text", "witnessed_by"),
    }
    if allowed(request, "screening.view"):
        context["screenings"] = client.screenings.all()[:20]
    if allowed(request, "session.view"):
        context["sessions"] = client.sessions.select_related("practitioner", "device")
    if allowed(request, "outcome.view"):
        context["scores"] = client.scores.all()
        context["measures"] = client.measures.all()
        context["photo_pairs"] = queries.photo_pairs(client)
    context["corrections"] = corrections.for_client(request.user, client.pk)
    return render(request, "web/clients/detail.html", context)


@page("client.view", "outcome.view")
def photo_file(request: HttpRequest, pk: int) -> HttpResponse:
    """A photograph as an inert image: a fixed JPEG type that the browser may not sniff,
    a sandbox policy (no script, no same-origin rights even if opened on its own), never
    cached (a clinical record). Every view is audited by the service."""
    try:
        photo = queries.get_or_404(photo_service.open_for_view, request.user, pk)
    except Conflict as refused:
        if refused.field == "consent":
            raise Http404(str(refused)) from refused
        return HttpResponse(str(refused), status=409, content_type="text/plain; charset=utf-8")
    response = HttpResponse(photo.data, content_type=photo.content_type)
    for header, value in photo_service.SERVE_HEADERS.items():
        response[header] = value
    response["Content-Disposition"] = f'inline; filename="{photo.filename}"'
    return response


@page("client.create")
def client_new(request: HttpRequest) -> HttpResponse:
    form = ClientForm(request.POST or None)
    matches: list[Client] = []
    if request.method == "POST" and form.is_valid():
        try:
            client = client_service.create(request.user, **form.cleaned_data)
        except client_service.PossibleDuplicate as duplicate:
            matches = duplicate.matches
            form.ask_confirmation()
            form.add_error(None, str(duplicate))
        except RecordsError as error:
            apply_error(form, error, lambda field: field)
        else:
            messages.success(request, f"{client.full_name} is registered.")
            return redirect("web:client", client.pk)
    return render(request, "web/clients/new.html", {"form": form, "matches": matches})
