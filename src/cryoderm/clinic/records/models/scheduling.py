"""Rooms and appointments. Double booking is refused by the booking service, which locks
the practitioner, device and room rows before looking for an overlap."""

from __future__ import annotations

from django.db import models

from .clients import Client
from .devices import Device
from .staff import Practitioner


class Room(models.Model):
    name = models.CharField(max_length=80, unique=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Appointment(models.Model):
    """A booked slot [starts_at, ends_at) for one client, practitioner, device and room."""

    class Status(models.TextChoices):
        BOOKED = "booked", "Booked"
        CANCELLED = "cancelled", "Cancelled"
        COMPLETED = "completed", "Completed"
        NO_SHOW = "no-show", "Did not attend"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="appointments")
    practitioner = models.ForeignKey(
        Practitioner, on_delete=models.PROTECT, related_name="appointments"
    )
    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="appointments")
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="appointments")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.BOOKED)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="appointment_ends_after_start",
                violation_error_message="ends_at: must be after starts_at",
            )
        ]
        # Serve the overlap queries of the booking service.
        indexes = [
            models.Index(fields=["practitioner", "starts_at"], name="appt_practitioner_idx"),
            models.Index(fields=["device", "starts_at"], name="appt_device_idx"),
            models.Index(fields=["room", "starts_at"], name="appt_room_idx"),
        ]
