"""Booking appointments without double booking a practitioner, device or room."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from cryoderm.clinic import audit

from ..errors import Conflict, InvalidRecord
from ..models import Appointment, Client, Device, Practitioner, Room
from ._common import authorize, load, now_or, validated


def _overlapping(**resource: Any) -> Any:
    return Appointment.objects.filter(status=Appointment.Status.BOOKED, **resource)


@transaction.atomic
def book(
    actor: Any,
    *,
    client_id: object,
    practitioner_id: object,
    device_id: object,
    room_id: object,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    notes: str = "",
) -> Appointment:
    """Book [starts_at, ends_at); refused when the practitioner, device or room is taken.

    The three resource rows are locked first (in a fixed order, so two bookings never
    deadlock), which serialises competing bookings of the same resource on PostgreSQL;
    SQLite serialises all writers anyway."""
    authorize(actor, "appointment.book")
    starts_at, ends_at = now_or(starts_at), now_or(ends_at)
    if ends_at <= starts_at:
        raise InvalidRecord("ends_at", "must be after starts_at")
    client = load(Client, client_id)
    practitioner = load(Practitioner, practitioner_id, lock=True)
    device = load(Device, device_id, lock=True)
    room = load(Room, room_id, lock=True)
    for field, resource in (("practitioner", practitioner), ("device", device), ("room", room)):
        clash = (
            _overlapping(**{field: resource})
            .filter(starts_at__lt=ends_at, ends_at__gt=starts_at)
            .first()
        )
        if clash is not None:
            raise Conflict(
                f"{field} {resource} is already booked from {clash.starts_at:%Y-%m-%d %H:%M} "
                f"to {clash.ends_at:%H:%M} (appointment {clash.pk}); choose another time or {field}",
                field,
            )
    appointment = validated(
        Appointment(
            client=client,
            practitioner=practitioner,
            device=device,
            room=room,
            starts_at=starts_at,
            ends_at=ends_at,
            notes=notes,
        )
    )
    appointment.save()
    audit.record(actor, "appointment.book", appointment, {"client": client.pk})
    return appointment


@transaction.atomic
def cancel(actor: Any, appointment_id: object) -> Appointment:
    authorize(actor, "appointment.book")
    appointment = load(Appointment, appointment_id, lock=True)
    if appointment.status != Appointment.Status.BOOKED:
        raise Conflict(
            f"appointment {appointment.pk} is {appointment.status}, not booked", "status"
        )
    appointment.status = Appointment.Status.CANCELLED
    appointment.save(update_fields=["status"])
    audit.record(actor, "appointment.cancel", appointment, {"client": appointment.client_id})
    return appointment


@transaction.atomic
def add_room(actor: Any, name: str, notes: str = "") -> Room:
    authorize(actor, "device.manage")
    room = validated(Room(name=name, notes=notes))
    room.save()
    audit.record(actor, "room.create", room, {"name": name})
    return room
