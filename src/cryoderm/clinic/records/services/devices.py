"""Devices: registration and correction, maintenance and calibration records, the fault log.

Dates of what has happened (commissioning, a service, a calibration) are not in the future.
A calibration passes when its largest deviation from the reference is within the device's
tolerance (``calibration_tolerance_k``, the manufacturer's accuracy): the service decides,
and a record that says otherwise is refused. Every correction keeps the earlier value."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from cryoderm.clinic import audit

from ..errors import Conflict, InvalidRecord
from ..models import CalibrationRecord, Device, DeviceFault, MaintenanceRecord
from . import corrections
from ._common import (
    authorize,
    load,
    not_future,
    now_or,
    require_finite,
    require_text,
    validated,
)

DEVICE_EDITABLE = (
    "manufacturer",
    "model_name",
    "serial_number",
    "commissioned_on",
    "calibration_interval_days",
    "service_interval_days",
    "calibration_tolerance_k",
    "notes",
)
CALIBRATION_EDITABLE = (
    "performed_on",
    "performed_by",
    "reference_instrument",
    "max_error_c",
    "certificate_ref",
    "notes",
)


#: assumption: a sensor that errs by more than 2 K can read 2 °C (the cold-air floor,
#: data/thresholds.toml) when the skin is at 0 °C (frostnip): a tolerance wider than that
#: would pass a calibration of a sensor that cannot guard a floor.
MAX_CALIBRATION_TOLERANCE_K = 2.0
#: assumption: thermometry is calibrated yearly in common practice and devices are serviced
#: at least as often; two years leaves room for a longer manufacturer's interval while an
#: interval of, say, 100,000 days (which would never fall due) is refused.
MAX_INTERVAL_DAYS = 730


def _check_device(device: Device) -> None:
    not_future("commissioned_on", device.commissioned_on)
    tolerance = require_finite("calibration_tolerance_k", device.calibration_tolerance_k, "K")
    if not 0 < tolerance <= MAX_CALIBRATION_TOLERANCE_K:
        raise InvalidRecord(
            "calibration_tolerance_k",
            f"{tolerance:g} K; the manufacturer's accuracy, above 0 and at most "
            f"{MAX_CALIBRATION_TOLERANCE_K:g} K",
        )
    for field in ("calibration_interval_days", "service_interval_days"):
        days = getattr(device, field)
        if isinstance(days, int) and not 1 <= days <= MAX_INTERVAL_DAYS:
            raise InvalidRecord(field, f"{days} days; from 1 to {MAX_INTERVAL_DAYS} days")


@transaction.atomic
def register(actor: Any, **fields: Any) -> Device:
    """A new device (modality, manufacturer, model_name, serial_number, commissioned_on,
    calibration_interval_days, service_interval_days, calibration_tolerance_k)."""
    authorize(actor, "device.manage")
    device = validated(Device(**fields))
    _check_device(device)
    device.save()
    audit.record(actor, "device.create", device, {"serial_number": device.serial_number})
    return device


@transaction.atomic
def update(actor: Any, device_id: object, *, reason: str, **fields: Any) -> Device:
    """Correct a device's record (not its modality: a device of another modality is another
    device, registered as such); the earlier values are kept."""
    authorize(actor, "device.manage")
    device = load(Device, device_id, lock=True)
    return corrections.apply(
        actor,
        device,
        fields,
        reason=reason,
        editable=DEVICE_EDITABLE,
        action="device.update",
        check=_check_device,
    )


@transaction.atomic
def record_maintenance(
    actor: Any,
    device_id: object,
    *,
    kind: str,
    performed_on: dt.date,
    performed_by: str,
    notes: str = "",
) -> MaintenanceRecord:
    authorize(actor, "device.maintain")
    device = load(Device, device_id)
    not_future("performed_on", performed_on)
    record = validated(
        MaintenanceRecord(
            device=device,
            kind=kind,
            performed_on=performed_on,
            performed_by=performed_by,
            notes=notes,
            recorded_by=actor if getattr(actor, "pk", None) else None,
        )
    )
    record.save()
    audit.record(actor, "device.maintain", device, {"kind": kind, "performed_on": performed_on})
    return record


def _judge(record: CalibrationRecord, claimed: bool | None) -> None:
    """Set ``passed`` from the deviation and the device's tolerance; refuse a claim that
    contradicts them."""
    not_future("performed_on", record.performed_on)
    error = require_finite("max_error_c", record.max_error_c, "K")
    tolerance = record.device.calibration_tolerance_k
    passed = 0 <= error <= tolerance
    if claimed is not None and claimed != passed:
        verdict = "within" if passed else "beyond"
        raise InvalidRecord(
            "passed",
            f"a deviation of {error:g} K is {verdict} the device's tolerance of {tolerance:g} K: "
            f"the calibration {'passed' if passed else 'failed'}",
        )
    record.passed = passed


@transaction.atomic
def record_calibration(
    actor: Any,
    device_id: object,
    *,
    performed_on: dt.date,
    performed_by: str,
    reference_instrument: str,
    max_error_c: float,
    passed: bool | None = None,
    certificate_ref: str = "",
    notes: str = "",
) -> CalibrationRecord:
    """A calibration; it passes when ``max_error_c`` is within the device's tolerance
    (``passed``, when given, must agree)."""
    authorize(actor, "device.maintain")
    device = load(Device, device_id)
    record = CalibrationRecord(
        device=device,
        performed_on=performed_on,
        performed_by=performed_by,
        reference_instrument=reference_instrument,
        max_error_c=require_finite("max_error_c", max_error_c, "K"),
        passed=False,
        certificate_ref=certificate_ref,
        notes=notes,
        recorded_by=actor if getattr(actor, "pk", None) else None,
    )
    _judge(record, passed)
    validated(record)
    record.save()
    audit.record(
        actor,
        "device.calibrate",
        device,
        {"performed_on": performed_on, "passed": record.passed, "max_error_c": record.max_error_c},
    )
    return record


@transaction.atomic
def correct_calibration(
    actor: Any, calibration_id: object, *, reason: str, **fields: Any
) -> CalibrationRecord:
    """Correct a calibration record; whether it passed is judged again from the corrected
    deviation. The earlier values are kept."""
    authorize(actor, "device.maintain")
    record = load(CalibrationRecord, calibration_id, lock=True)
    if "passed" in fields:
        raise InvalidRecord("passed", "follows from max_error_c and the device's tolerance")

    def check(changed: CalibrationRecord) -> None:
        _judge(changed, None)
        # A calibration was performed before it was recorded: a correction may move its date
        # back, never past the day it was entered (which would make an old calibration look
        # fresh and reopen an overdue device).
        entered = timezone.localdate(record.created_at)
        if changed.performed_on > entered:
            raise InvalidRecord(
                "performed_on",
                f"{changed.performed_on} is after the day this calibration was recorded "
                f"({entered}); record a new calibration instead",
            )

    return corrections.apply(
        actor,
        record,
        fields,
        reason=reason,
        editable=CALIBRATION_EDITABLE,
        action="device.calibration_correct",
        check=check,
        derived=("passed",),
    )


@transaction.atomic
def report_fault(
    actor: Any,
    device_id: object,
    *,
    description: str,
    severity: str,
    code: str = "",
    session_id: object | None = None,
    at: dt.datetime | None = None,
) -> DeviceFault:
    """Log a fault; a major fault takes the device out of service until it is resolved."""
    authorize(actor, "device.report_fault")
    device = load(Device, device_id, lock=True)
    fault = validated(
        DeviceFault(
            device=device,
            occurred_at=now_or(at),
            code=code,
            description=require_text("description", description),
            severity=severity,
            session_id=session_id,
            reported_by=actor if getattr(actor, "pk", None) else None,
        )
    )
    fault.save()
    audit.record(
        actor, "device.fault", device, {"fault": fault.pk, "severity": severity, "code": code}
    )
    return fault


@transaction.atomic
def resolve_fault(
    actor: Any, fault_id: object, *, resolution: str, at: dt.datetime | None = None
) -> DeviceFault:
    authorize(actor, "device.maintain")
    fault = load(DeviceFault, fault_id, lock=True)
    if fault.resolved_at is not None:
        raise Conflict(f"fault {fault.pk} was already resolved", "resolved_at")
    fault.resolution = require_text("resolution", resolution)
    fault.resolved_at = now_or(at)
    fault.save(update_fields=["resolution", "resolved_at"])
    audit.record(actor, "device.fault_resolved", fault.device, {"fault": fault.pk})
    return fault


@transaction.atomic
def set_status(actor: Any, device_id: object, status: str) -> Device:
    authorize(actor, "device.manage")
    device = load(Device, device_id, lock=True)
    device.status = status
    validated(device)
    device.save(update_fields=["status"])
    audit.record(actor, "device.status", device, {"status": status})
    return device
