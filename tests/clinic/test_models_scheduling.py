"""Appointments: no double booking of a practitioner, a device or a room; back-to-back
slots are fine; a cancelled slot frees its resources."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from cryoderm.clinic.records.errors import Conflict, InvalidRecord
from cryoderm.clinic.records.services import scheduling

from . import factories
from .personas import make_practitioner, make_user

NINE = timezone.now().replace(hour=9, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)


@pytest.fixture
def clinic(alice):
    return {
        "client_id": factories.make_client(alice).pk,
        "practitioner_id": alice.practitioner.pk,
        "device_id": factories.make_device().pk,
        "room_id": factories.make_room().pk,
    }


def slot(start_min: int, end_min: int) -> dict[str, dt.datetime]:
    return {
        "starts_at": NINE + dt.timedelta(minutes=start_min),
        "ends_at": NINE + dt.timedelta(minutes=end_min),
    }


def test_back_to_back_appointments_are_allowed(alice, clinic) -> None:
    scheduling.book(alice, **clinic, **slot(0, 30))
    assert scheduling.book(alice, **clinic, **slot(30, 60)).status == "booked"


@pytest.mark.parametrize("resource", ["practitioner", "device", "room"])
def test_an_overlap_on_any_one_resource_is_refused(alice, clinic, resource) -> None:
    scheduling.book(alice, **clinic, **slot(0, 30))
    other = {
        "practitioner_id": make_practitioner(make_user("erin", "Erin", "Eve")).pk,
        "device_id": factories.make_device(serial_number="CA-0009").pk,
        "room_id": factories.make_room("Room 2").pk,
    }
    other[f"{resource}_id"] = clinic[f"{resource}_id"]
    with pytest.raises(Conflict, match=f"{resource} .* is already booked") as caught:
        scheduling.book(alice, client_id=clinic["client_id"], **other, **slot(15, 45))
    assert caught.value.field == resource


def test_a_cancelled_appointment_frees_the_slot(alice, clinic) -> None:
    booked = scheduling.book(alice, **clinic, **slot(0, 30))
    scheduling.cancel(alice, booked.pk)
    assert scheduling.book(alice, **clinic, **slot(0, 30)).status == "booked"


def test_an_appointment_must_end_after_it_starts(alice, clinic) -> None:
    with pytest.raises(InvalidRecord, match="ends_at"):
        scheduling.book(alice, **clinic, **slot(30, 30))
