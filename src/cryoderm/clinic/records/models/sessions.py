"""Treatment sessions, their skin-temperature time series, alarms and events."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .clients import Client
from .consent import Consent
from .devices import Device
from .scheduling import Appointment
from .screening import ScreeningResponse
from .staff import Practitioner


class TreatmentSession(models.Model):
    """One treatment: who, on whom, with what device, under which screening and consent.

    Created ``planned``; the start service moves it to ``in-progress`` only through the gates
    (records.gates); it ends ``completed`` or ``aborted``, or, never started, ``cancelled``
    with a reason (records.services.live_control)."""

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        IN_PROGRESS = "in-progress", "In progress"
        COMPLETED = "completed", "Completed"
        ABORTED = "aborted", "Aborted"
        CANCELLED = "cancelled", "Cancelled"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="sessions")
    practitioner = models.ForeignKey(
        Practitioner, on_delete=models.PROTECT, related_name="sessions"
    )
    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="sessions")
    appointment = models.ForeignKey(
        Appointment, on_delete=models.PROTECT, null=True, blank=True, related_name="sessions"
    )
    screening = models.ForeignKey(
        ScreeningResponse,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sessions",
    )
    consent = models.ForeignKey(
        Consent, on_delete=models.PROTECT, null=True, blank=True, related_name="sessions"
    )
    zones = models.JSONField(default=list, help_text="Face zones treated, e.g. ['forehead']")
    plan = models.JSONField(
        null=True,
        blank=True,
        help_text="The planner's plan (cryoderm-plan/1); read it with planning.stored_plan",
    )
    plan_screening = models.ForeignKey(
        ScreeningResponse,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The screening the plan was made from (the gates require it still counts)",
    )
    planned_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PLANNED)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    exposure_s = models.FloatField(default=0.0, help_text="Cold exposure delivered [s]")
    end_reason = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["client", "created_at"], name="session_client_idx")]

    def __str__(self) -> str:
        return f"Session {self.pk} of {self.client} ({self.status})"


class SkinReading(models.Model):
    """One skin-temperature sample of one sensor on one zone during a session."""

    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="readings")
    zone = models.CharField(max_length=40)
    sensor = models.CharField(max_length=40)
    recorded_at = models.DateTimeField()
    elapsed_s = models.FloatField(help_text="Time since the session started [s]")
    skin_temp_c = models.FloatField(help_text="Skin surface temperature [°C]")

    class Meta:
        ordering = ["session", "zone", "sensor", "elapsed_s"]
        # One sensor measures one temperature at one instant: the identity of a reading, which
        # also serves the time-series query (one session, zone and sensor, in time order).
        constraints = [
            models.UniqueConstraint(
                fields=["session", "zone", "sensor", "elapsed_s"],
                name="one_reading_per_sensor_and_time",
                violation_error_message="readings: this sensor already has a reading at this time",
            )
        ]


class Alarm(models.Model):
    """An alarm raised during a session (by the interlock or a practitioner)."""

    class Severity(models.TextChoices):
        WARNING = "warning", "Warning"
        STOP = "stop", "Stop: exposure ended"

    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="alarms")
    raised_at = models.DateTimeField()
    code = models.CharField(max_length=60)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    message = models.TextField()
    zone = models.CharField(max_length=40, blank=True)
    sensor = models.CharField(max_length=40, blank=True)
    value_c = models.FloatField(null=True, blank=True, help_text="Measured value [°C]")
    limit_c = models.FloatField(null=True, blank=True, help_text="Limit crossed [°C]")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["session", "raised_at", "id"]


class SessionEvent(models.Model):
    """Something that happened in a session: started, paused, stopped, a note, a device event."""

    class Kind(models.TextChoices):
        STARTED = "started", "Started"
        PAUSED = "paused", "Paused"
        RESUMED = "resumed", "Resumed"
        STOPPED = "stopped", "Stopped"
        COMPLETED = "completed", "Completed"
        ABORTED = "aborted", "Aborted"
        CANCELLED = "cancelled", "Cancelled"
        DEVICE = "device", "Device event"
        NOTE = "note", "Note"

    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="events")
    occurred_at = models.DateTimeField()
    kind = models.CharField(max_length=12, choices=Kind.choices)
    message = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["session", "occurred_at", "id"]
