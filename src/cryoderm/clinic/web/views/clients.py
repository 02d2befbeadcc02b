"""Clients: search and list, register, and the client page with the whole history."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from cryoderm.clinic.records.errors import RecordsError
from cryoderm.clinic.records.models import Photo
from cryoderm.clinic.records.services import clients as client_service
from cryoderm.clinic.web import queries
from cryoderm.clinic.web.access import allowed, page
from cryoderm.clinic.web.forms import ClientForm, apply_error


@page("client.view")
def client_list(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("q", "").strip()[:100]
    context = {"clients": client_service.search(request.user, text), "q": text}
    if request.headers.get("HX-Request"):
        return render(request, "web/clients/_rows.html", context)
    return render(request, "web/clients/list.html", context)


@page("client.view")
def client_detail(request: HttpRequest, pk: int) -> HttpResponse:
    client = queries.get_or_404(client_service.get, request.user, pk)
    context: dict[str, object] = {
        "client": client,
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
    return render(request, "web/clients/detail.html", context)


@page("client.view", "outcome.view")
def photo_file(request: HttpRequest, pk: int) -> HttpResponse:
    """A photograph, only while the client's consent to photographs stands."""
    photo = get_object_or_404(Photo.objects.select_related("consent"), pk=pk)
    if not queries.photo_viewable(photo):
        raise Http404("this photograph's consent was withdrawn")
    return FileResponse(photo.image.open("rb"))


@page("client.create")
def client_new(request: HttpRequest) -> HttpResponse:
    form = ClientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            client = client_service.create(request.user, **form.cleaned_data)
        except RecordsError as error:
            apply_error(form, error, lambda field: field)
        else:
            messages.success(request, f"{client.full_name} is registered.")
            return redirect("web:client", client.pk)
    return render(request, "web/clients/new.html", {"form": form})
