"""Devices: registration, maintenance and calibration records, the fault log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from cryoderm.clinic import audit

from ..errors import Conflict
from ..models import CalibrationRecord, Device, DeviceFault, MaintenanceRecord
from ._common import authorize, load, now_or, require_finite, require_text, validated


@transaction.atomic
def register(actor: Any, **fields: Any) -> Device:
    """A new device (modality, manufacturer, model_name, serial_number, commissioned_on,
    calibration_interval_days, service_interval_days)."""
    authorize(actor, "device.manage")
    device = validated(Device(**fields))
    device.save()
    audit.record(actor, "device.create", device, {"serial_number": device.serial_number})
    return device


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


@transaction.atomic
def record_calibration(
    actor: Any,
    device_id: object,
    *,
    performed_on: dt.date,
    performed_by: str,
    reference_instrument: str,
    max_error_c: float,
    passed: bool,
    certificate_ref: str = "",
    notes: str = "",
) -> CalibrationRecord:
    authorize(actor, "device.maintain")
    device = load(Device, device_id)
    record = validated(
        CalibrationRecord(
            device=device,
            performed_on=performed_on,
            performed_by=performed_by,
            reference_instrument=reference_instrument,
            max_error_c=require_finite("max_error_c", max_error_c, "K"),
            passed=passed,
            certificate_ref=certificate_ref,
            notes=notes,
            recorded_by=actor if getattr(actor, "pk", None) else None,
        )
    )
    record.save()
    audit.record(
        actor,
        "device.calibrate",
        device,
        {"performed_on": performed_on, "passed": passed, "max_error_c": record.max_error_c},
    )
    return record


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
