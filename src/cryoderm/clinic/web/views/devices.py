"""Devices and staff: maintenance, calibration, certifications and what falls due."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from cryoderm.clinic.accounts import permissions
from cryoderm.clinic.accounts.errors import PermissionRefused
from cryoderm.clinic.records.errors import RecordsError
from cryoderm.clinic.records.models import Device, Practitioner
from cryoderm.clinic.records.services import corrections
from cryoderm.clinic.records.services import devices as device_service
from cryoderm.clinic.web import queries
from cryoderm.clinic.web.access import allowed, page, refusal
from cryoderm.clinic.web.forms import CalibrationForm, MaintenanceForm, apply_error


@page("device.view")
def device_list(request: HttpRequest) -> HttpResponse:
    devices = Device.objects.prefetch_related("calibrations", "maintenance")
    return render(
        request,
        "web/devices/list.html",
        {"devices": devices, "due": queries.device_due_items()},
    )


@page("device.view")
def device_detail(request: HttpRequest, pk: int) -> HttpResponse:
    device = get_object_or_404(Device, pk=pk)
    maintenance_form = MaintenanceForm(prefix="m")
    calibration_form = CalibrationForm(prefix="c")
    if request.method == "POST":
        if not allowed(request, "device.maintain"):
            return refusal(
                request,
                PermissionRefused(
                    action="device.maintain",
                    who=request.user.get_username(),
                    roles=permissions.roles_of(request.user),
                ),
            )
        if "record_maintenance" in request.POST:
            maintenance_form = MaintenanceForm(request.POST, prefix="m")
            if maintenance_form.is_valid():
                try:
                    device_service.record_maintenance(
                        request.user, device.pk, **maintenance_form.cleaned_data
                    )
                except RecordsError as error:
                    apply_error(maintenance_form, error, lambda f: f)
                else:
                    messages.success(request, "Maintenance recorded.")
                    return redirect("web:device", device.pk)
        else:
            calibration_form = CalibrationForm(request.POST, prefix="c")
            if calibration_form.is_valid():
                try:
                    device_service.record_calibration(
                        request.user, device.pk, **calibration_form.cleaned_data
                    )
                except RecordsError as error:
                    apply_error(calibration_form, error, lambda f: f)
                else:
                    messages.success(request, "Calibration recorded.")
                    return redirect("web:device", device.pk)
    return render(
        request,
        "web/devices/detail.html",
        {
            "device": device,
            "maintenance": device.maintenance.all()[:50],
            "calibrations": device.calibrations.all()[:50],
            "faults": device.faults.all()[:50],
            "maintenance_form": maintenance_form,
            "calibration_form": calibration_form,
            "may_maintain": allowed(request, "device.maintain"),
            "may_manage": allowed(request, "device.manage"),
            "history": corrections.for_device(request.user, device.pk),
        },
    )


@page("staff.manage")
def staff_list(request: HttpRequest) -> HttpResponse:
    practitioners = Practitioner.objects.select_related("user").prefetch_related("qualifications")
    return render(
        request,
        "web/staff/list.html",
        {"practitioners": practitioners, "due": queries.certification_due_items()},
    )
