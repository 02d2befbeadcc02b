"""Screening: the questionnaire with a verdict that updates as it is filled in, the stored
verdict with its findings and sources, and the two-clinician override of ``refer`` findings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from cryoderm.clinic.records.errors import RecordsError
from cryoderm.clinic.records.models import Client, ScreeningResponse
from cryoderm.clinic.records.services import planning
from cryoderm.clinic.records.services import screening as screening_service
from cryoderm.clinic.web import queries
from cryoderm.clinic.web.access import allowed, page
from cryoderm.clinic.web.forms import ScreeningForm, SignOffForm, apply_error
from cryoderm.clinical.errors import ClinicalError


def _initial(client: Client) -> dict[str, Any]:
    initial: dict[str, Any] = {
        "age_years": planning.age_years(client.date_of_birth, timezone.localdate())
    }
    if client.sex in ("female", "male"):
        initial["sex"] = client.sex
    if client.fitzpatrick_type:
        initial["fitzpatrick"] = str(client.fitzpatrick_type)
    return initial


@page("screening.submit")
def screening_new(request: HttpRequest, pk: int) -> HttpResponse:
    client = get_object_or_404(Client, pk=pk)
    form = ScreeningForm(request.POST or None, initial=_initial(client))
    if request.method == "POST" and form.is_valid():
        modality, zones = form.screened_for()
        try:
            response = screening_service.submit(
                request.user, client.pk, form.answers(), modality=modality, zones=zones
            )
        except (ClinicalError, RecordsError) as error:
            apply_error(form, error, form.field_for)
        else:
            messages.success(request, f"Screening saved: {response.get_outcome_display()}.")
            return redirect("web:screening", response.pk)
    return render(request, "web/screening/new.html", {"client": client, "form": form})


@page("screening.submit")
def screening_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The verdict for the answers so far (htmx); nothing is stored."""
    client = get_object_or_404(Client, pk=pk)
    form = ScreeningForm(request.POST, initial=_initial(client))
    verdict: screening_service.Verdict | None = None
    if form.is_valid():
        modality, zones = form.screened_for()
        try:
            verdict = screening_service.preview(
                request.user, form.answers(), client_id=client.pk, modality=modality, zones=zones
            )
        except (ClinicalError, RecordsError) as error:
            apply_error(form, error, form.field_for)
    return render(request, "web/screening/_verdict.html", {"verdict": verdict, "form": form})


@page("screening.view")
def screening_detail(request: HttpRequest, pk: int) -> HttpResponse:
    screening = queries.get_or_404(screening_service.get, request.user, pk)
    signed = {
        s.rule_id: s for s in screening.signoffs.select_related("signed_by", "second_clinician")
    }
    form = SignOffForm(request.POST or None)
    if request.method == "POST":
        refused = _sign_off(request, screening, form)
        if refused is None:
            return redirect("web:screening", screening.pk)
    return render(
        request,
        "web/screening/detail.html",
        {
            "screening": screening,
            "verdict": screening_service.verdict_of(screening),
            "signed": signed,
            "form": form,
            "open_refer": screening_service.unsigned_referrals(screening),
            "screened_on": screening.screened_at.date()
            if screening.screened_at
            else dt.date.today(),
        },
    )


def _sign_off(request: HttpRequest, screening: ScreeningResponse, form: SignOffForm) -> str | None:
    if not allowed(request, "override.sign"):
        form.add_error(None, "Your role may not sign off a refer finding.")
        return "refused"
    if not form.is_valid():
        return "invalid"
    data = form.cleaned_data
    try:
        screening_service.sign_off(
            request.user,
            screening.pk,
            data["rule_id"],
            reason=data["reason"],
            second=screening_service.SecondClinician(
                data["second_username"],
                password=data["second_password"],
                one_time_code=data["second_one_time_code"],
            ),
            request=request,
        )
    except RecordsError as error:
        apply_error(form, error, SignOffForm.FIELD_FOR.get)
        return "invalid"
    messages.success(request, "The finding is signed off by two clinicians.")
    return None
