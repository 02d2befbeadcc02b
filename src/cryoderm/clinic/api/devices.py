"""Devices: list, register, read (with due dates), maintenance and calibration records."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from cryoderm.clinic.api.auth import principal
from cryoderm.clinic.api.errors import ERRORS
from cryoderm.clinic.api.fields import (
    Body,
    Finite,
    Id,
    Label,
    Line,
    Note,
    reason_and_changes,
)
from cryoderm.clinic.records.models import Device
from cryoderm.clinic.records.services import _common
from cryoderm.clinic.records.services import devices as device_service

router = Router(tags=["devices"])
calibrations = Router(tags=["devices"])

Modality = Literal["cold-air", "ln2-vapour", "contact"]


class DeviceIn(Body):
    modality: Modality
    manufacturer: Label
    model_name: Label
    serial_number: Label = Field(max_length=80)
    commissioned_on: dt.date
    calibration_interval_days: int = Field(ge=1, le=3650)
    service_interval_days: int = Field(ge=1, le=3650, description="1 day to 10 years")
    calibration_tolerance_k: Finite = Field(
        0.5,
        gt=0,
        le=5,
        description="largest deviation a passing calibration may show [K] (the manufacturer's "
        "accuracy; 0.5 K when not given)",
    )
    notes: Note = ""


class DevicePatch(Body):
    reason: Note = Field(min_length=1, description="why the record is corrected (kept)")
    manufacturer: Label | None = None
    model_name: Label | None = None
    serial_number: Label | None = Field(None, max_length=80)
    commissioned_on: dt.date | None = None
    calibration_interval_days: int | None = Field(None, ge=1, le=3650)
    service_interval_days: int | None = Field(None, ge=1, le=3650)
    calibration_tolerance_k: Finite | None = Field(None, gt=0, le=5)
    notes: Note | None = None


class DeviceOut(Schema):
    id: int
    modality: str
    manufacturer: str
    model_name: str
    serial_number: str
    status: str
    commissioned_on: dt.date
    calibration_interval_days: int
    service_interval_days: int
    calibration_tolerance_k: float
    calibration_due_on: dt.date | None
    service_due_on: dt.date
    sessions_count: int
    exposure_s_total: float
    notes: str

    @staticmethod
    def resolve_calibration_due_on(obj: Device) -> dt.date | None:
        return obj.calibration_due_on()

    @staticmethod
    def resolve_service_due_on(obj: Device) -> dt.date:
        return obj.service_due_on()


class MaintenanceIn(Body):
    kind: Literal["service", "repair", "inspection"]
    performed_on: dt.date
    performed_by: Label
    notes: Note = ""


class MaintenanceOut(Schema):
    id: int
    device_id: int
    kind: str
    performed_on: dt.date
    performed_by: str
    notes: str


class CalibrationIn(Body):
    performed_on: dt.date
    performed_by: Label
    reference_instrument: Label
    max_error_c: Finite = Field(
        ge=0, le=100, description="largest deviation from the reference [K]"
    )
    passed: bool | None = Field(
        None,
        description="optional: it follows from max_error_c and the device's tolerance; a "
        "value that contradicts them is refused",
    )
    certificate_ref: Line = ""
    notes: Note = ""


class CalibrationPatch(Body):
    reason: Note = Field(min_length=1, description="why the record is corrected (kept)")
    performed_on: dt.date | None = None
    performed_by: Label | None = None
    reference_instrument: Label | None = None
    max_error_c: Finite | None = Field(None, ge=0, le=100)
    certificate_ref: Line | None = None
    notes: Note | None = None


class CalibrationOut(Schema):
    id: int
    device_id: int
    performed_on: dt.date
    performed_by: str
    reference_instrument: str
    max_error_c: float
    passed: bool
    certificate_ref: str


@router.get("", response={200: list[DeviceOut], **ERRORS}, summary="Every device")
def list_devices(request: HttpRequest) -> Any:
    principal(request).require("device.view")
    return list(Device.objects.order_by("modality", "serial_number"))


@router.post("", response={201: DeviceOut, **ERRORS}, summary="Register a device")
def register(request: HttpRequest, payload: DeviceIn) -> Any:
    caller = principal(request)
    caller.require("device.manage")
    return Status(201, device_service.register(caller.user, **payload.dict()))


@router.get("/{device_id}", response={200: DeviceOut, **ERRORS}, summary="Read a device")
def get(request: HttpRequest, device_id: Id) -> Any:
    principal(request).require("device.view")
    return _common.load(Device, device_id)


@router.post(
    "/{device_id}/maintenance",
    response={201: MaintenanceOut, **ERRORS},
    summary="Record a service, repair or inspection",
)
def maintenance(request: HttpRequest, device_id: Id, payload: MaintenanceIn) -> Any:
    caller = principal(request)
    caller.require("device.maintain")
    return Status(201, device_service.record_maintenance(caller.user, device_id, **payload.dict()))


@router.post(
    "/{device_id}/calibrations",
    response={201: CalibrationOut, **ERRORS},
    summary="Record a calibration",
)
def calibration(request: HttpRequest, device_id: Id, payload: CalibrationIn) -> Any:
    caller = principal(request)
    caller.require("device.maintain")
    return Status(201, device_service.record_calibration(caller.user, device_id, **payload.dict()))


@router.patch(
    "/{device_id}",
    response={200: DeviceOut, **ERRORS},
    summary="Correct a device's record (the fields sent, with a reason; earlier values kept)",
)
def update(request: HttpRequest, device_id: Id, payload: DevicePatch) -> Any:
    caller = principal(request)
    caller.require("device.manage")
    reason, fields = reason_and_changes(payload)
    return device_service.update(caller.user, device_id, reason=reason, **fields)


@calibrations.patch(
    "/{calibration_id}",
    response={200: CalibrationOut, **ERRORS},
    summary="Correct a calibration record (passed is judged again; earlier values kept)",
)
def correct_calibration(request: HttpRequest, calibration_id: Id, payload: CalibrationPatch) -> Any:
    caller = principal(request)
    caller.require("device.maintain")
    reason, fields = reason_and_changes(payload)
    return device_service.correct_calibration(caller.user, calibration_id, reason=reason, **fields)
