"""Devices with their calibration and service intervals, usage counters and fault log."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models

from .choices import Modality


class Device(models.Model):
    """One cooling device. Intervals are the manufacturer's, entered by the clinic.

    ``sessions_count`` and ``exposure_s_total`` are usage counters, advanced by the session
    services in the same transaction as the session they count."""

    class Status(models.TextChoices):
        IN_SERVICE = "in-service", "In service"
        OUT_OF_SERVICE = "out-of-service", "Out of service"
        RETIRED = "retired", "Retired"

    modality = models.CharField(max_length=20, choices=Modality.choices)
    manufacturer = models.CharField(max_length=120)
    model_name = models.CharField(max_length=120)
    serial_number = models.CharField(max_length=80, unique=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.IN_SERVICE)
    commissioned_on = models.DateField()
    calibration_interval_days = models.PositiveIntegerField(
        help_text="Manufacturer's calibration interval [days]"
    )
    service_interval_days = models.PositiveIntegerField(
        help_text="Manufacturer's service interval [days]"
    )
    # assumption: half a kelvin when the clinic has not entered the manufacturer's figure: the
    # floors keep 2 K above the 0 °C frostnip criterion, and a sensor that errs by more than a
    # quarter of that margin no longer guards it.
    calibration_tolerance_k = models.FloatField(
        default=0.5,
        help_text="Largest deviation from the reference a calibration may show and pass [K] "
        "(the manufacturer's accuracy)",
    )
    sessions_count = models.PositiveIntegerField(default=0)
    exposure_s_total = models.FloatField(default=0.0, help_text="Cumulative cold exposure [s]")
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["modality", "serial_number"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(calibration_tolerance_k__gt=0)
                & models.Q(calibration_tolerance_k__lte=5),
                name="calibration_tolerance_plausible",
                violation_error_message="calibration_tolerance_k: more than 0 K and at most 5 K",
            )
        ]

    def __str__(self) -> str:
        return f"{self.manufacturer} {self.model_name} ({self.serial_number})"

    def last_calibration(self) -> CalibrationRecord | None:
        return self.calibrations.filter(passed=True).order_by("-performed_on", "-id").first()

    def last_service(self) -> MaintenanceRecord | None:
        return (
            self.maintenance.filter(kind=MaintenanceRecord.Kind.SERVICE)
            .order_by("-performed_on", "-id")
            .first()
        )

    def calibration_due_on(self) -> dt.date | None:
        """The day the next calibration is due; None when never calibrated."""
        last = self.last_calibration()
        if last is None:
            return None
        return last.performed_on + dt.timedelta(days=self.calibration_interval_days)

    def service_due_on(self) -> dt.date:
        """The day the next service is due, counted from the last service or commissioning."""
        last = self.last_service()
        start = last.performed_on if last is not None else self.commissioned_on
        return start + dt.timedelta(days=self.service_interval_days)


class MaintenanceRecord(models.Model):
    """A service, repair or inspection of a device."""

    class Kind(models.TextChoices):
        SERVICE = "service", "Scheduled service"
        REPAIR = "repair", "Repair"
        INSPECTION = "inspection", "Inspection"

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="maintenance")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    performed_on = models.DateField()
    performed_by = models.CharField(max_length=150)
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["device", "-performed_on", "-id"]


class CalibrationRecord(models.Model):
    """A calibration of the device's temperature measurement against a reference instrument."""

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="calibrations")
    performed_on = models.DateField()
    performed_by = models.CharField(max_length=150)
    reference_instrument = models.CharField(max_length=200)
    max_error_c = models.FloatField(help_text="Largest deviation from the reference [K]")
    passed = models.BooleanField()
    certificate_ref = models.CharField(max_length=100, blank=True)
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["device", "-performed_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(max_error_c__gte=0),
                name="calibration_error_not_negative",
                violation_error_message="max_error_c: the largest deviation is 0 K or more",
            )
        ]


class DeviceFault(models.Model):
    """An entry in a device's fault log (an error code, a leak, a failed self-test)."""

    class Severity(models.TextChoices):
        MINOR = "minor", "Minor: device usable"
        MAJOR = "major", "Major: device out of service until resolved"

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="faults")
    occurred_at = models.DateTimeField()
    code = models.CharField(max_length=40, blank=True)
    description = models.TextField()
    severity = models.CharField(max_length=10, choices=Severity.choices)
    session = models.ForeignKey(
        "records.TreatmentSession",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="faults",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["device", "-occurred_at", "-id"]
