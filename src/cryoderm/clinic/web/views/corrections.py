"""Correcting a record: a form of its correctable fields and a reason; the service keeps the
earlier values, and the page shows the record's history of corrections below the form."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from cryoderm.clinic.records.errors import RecordsError
from cryoderm.clinic.records.models import (
    CalibrationRecord,
    Client,
    Device,
    InstrumentalMeasure,
    OutcomeScore,
)
from cryoderm.clinic.records.services import clients as client_service
from cryoderm.clinic.records.services import corrections
from cryoderm.clinic.records.services import devices as device_service
from cryoderm.clinic.records.services import outcomes as outcome_service
from cryoderm.clinic.web.access import page
from cryoderm.clinic.web.forms import (
    CalibrationCorrectionForm,
    ClientCorrectionForm,
    DeviceCorrectionForm,
    MeasureCorrectionForm,
    ScoreCorrectionForm,
    apply_error,
)


def _correction_page(
    request: HttpRequest,
    record: models.Model,
    form_class: type[forms.ModelForm],
    save: Callable[..., Any],
    *,
    title: str,
    back: str,
) -> HttpResponse:
    """The page of one correction: the changed fields go to ``save`` with the reason."""
    form = form_class(request.POST or None, instance=record)
    if request.method == "POST" and form.is_valid():
        changed = {
            name: form.cleaned_data[name]
            for name in form.changed_data
            if name not in ("reason", "confirm_new_person")
        }
        options = {"reason": form.cleaned_data["reason"]}
        if form.cleaned_data.get("confirm_new_person"):
            options["confirm_new_person"] = True
        try:
            save(request.user, record.pk, **options, **changed)
        except client_service.PossibleDuplicate as duplicate:
            form.ask_confirmation()  # type: ignore[attr-defined]
            form.add_error(None, str(duplicate))
        except RecordsError as error:
            apply_error(form, error, lambda field: field)
        else:
            messages.success(request, "The correction is recorded; the earlier values are kept.")
            return redirect(back)
    return render(
        request,
        "web/corrections/edit.html",
        {
            "title": title,
            "form": form,
            "back": back,
            "history": corrections.history((type(record), [record.pk])),
        },
    )


@page("client.view", "client.update")
def client_correct(request: HttpRequest, pk: int) -> HttpResponse:
    client = get_object_or_404(Client, pk=pk)
    return _correction_page(
        request,
        client,
        ClientCorrectionForm,
        client_service.update,
        title=f"Correct the record of {client.full_name}",
        back=reverse("web:client", args=[client.pk]),
    )


@page("device.manage")
def device_correct(request: HttpRequest, pk: int) -> HttpResponse:
    device = get_object_or_404(Device, pk=pk)
    return _correction_page(
        request,
        device,
        DeviceCorrectionForm,
        device_service.update,
        title=f"Correct the record of {device}",
        back=reverse("web:device", args=[device.pk]),
    )


@page("device.maintain")
def calibration_correct(request: HttpRequest, pk: int) -> HttpResponse:
    calibration = get_object_or_404(CalibrationRecord.objects.select_related("device"), pk=pk)
    return _correction_page(
        request,
        calibration,
        CalibrationCorrectionForm,
        device_service.correct_calibration,
        title=f"Correct the calibration of {calibration.device} on {calibration.performed_on}",
        back=reverse("web:device", args=[calibration.device_id]),
    )


@page("outcome.record")
def score_correct(request: HttpRequest, pk: int) -> HttpResponse:
    score = get_object_or_404(OutcomeScore.objects.select_related("client"), pk=pk)
    return _correction_page(
        request,
        score,
        ScoreCorrectionForm,
        outcome_service.correct_score,
        title=f"Correct a score of {score.client.full_name} ({score.scale})",
        back=reverse("web:client", args=[score.client_id]),
    )


@page("outcome.record")
def measure_correct(request: HttpRequest, pk: int) -> HttpResponse:
    measure = get_object_or_404(InstrumentalMeasure.objects.select_related("client"), pk=pk)
    return _correction_page(
        request,
        measure,
        MeasureCorrectionForm,
        outcome_service.correct_measure,
        title=f"Correct a measure of {measure.client.full_name} ({measure.get_quantity_display()})",
        back=reverse("web:client", args=[measure.client_id]),
    )
