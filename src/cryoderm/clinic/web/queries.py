"""Read-only queries behind the pages: what a page shows, fetched in few queries.

Writes never happen here: they go through the records services. Dates that fall "due" come
from the models' own rules (``Device.calibration_due_on``, ``Qualification.expires_on``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from cryoderm.clinic.records.errors import RecordNotFound
from cryoderm.clinic.records.models import (
    Appointment,
    Client,
    Device,
    Photo,
    Qualification,
    TreatmentSession,
)
from cryoderm.clinic.records.services import photos as photo_service

T = TypeVar("T")

DUE_WITHIN_DAYS = 30  # assumption: alerts for what falls due within 30 days, a month ahead


@dataclass(frozen=True)
class DueItem:
    """Something that expires or falls due on ``due_on`` (overdue when in the past);
    ``pk`` is the device's or the practitioner's."""

    what: str
    subject: str
    due_on: dt.date | None
    pk: int

    @property
    def overdue(self) -> bool:
        return self.due_on is None or self.due_on < timezone.localdate()

    @property
    def days_left(self) -> int | None:
        return None if self.due_on is None else (self.due_on - timezone.localdate()).days


def todays_appointments() -> QuerySet[Appointment]:
    today = timezone.localdate()
    start = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
    return (
        Appointment.objects.filter(starts_at__gte=start, starts_at__lt=start + dt.timedelta(days=1))
        .exclude(status=Appointment.Status.CANCELLED)
        .select_related("client", "practitioner", "device", "room")
    )


def sessions_in_progress() -> QuerySet[TreatmentSession]:
    return TreatmentSession.objects.filter(
        status=TreatmentSession.Status.IN_PROGRESS
    ).select_related("client", "practitioner", "device")


def device_due_items(within_days: int = DUE_WITHIN_DAYS) -> list[DueItem]:
    """Calibrations and services of in-service devices due within ``within_days`` (or overdue)."""
    horizon = timezone.localdate() + dt.timedelta(days=within_days)
    items: list[DueItem] = []
    devices = Device.objects.exclude(status=Device.Status.RETIRED).prefetch_related(
        "calibrations", "maintenance"
    )
    for device in devices:
        calibration = device.calibration_due_on()
        if calibration is None or calibration <= horizon:
            items.append(DueItem("Calibration", str(device), calibration, device.pk))
        service = device.service_due_on()
        if service <= horizon:
            items.append(DueItem("Service", str(device), service, device.pk))
    return sorted(items, key=lambda i: (i.due_on or dt.date.min, i.subject))


def certification_due_items(within_days: int = DUE_WITHIN_DAYS) -> list[DueItem]:
    """Unrevoked qualifications of active practitioners that expire within ``within_days``."""
    today = timezone.localdate()
    horizon = today + dt.timedelta(days=within_days)
    quals = (
        Qualification.objects.filter(
            revoked_at__isnull=True, practitioner__is_active=True, expires_on__lte=horizon
        )
        .filter(expires_on__gte=today - dt.timedelta(days=365))
        .select_related("practitioner")
    )
    return [
        DueItem(
            f"Certification: {q.title}",
            str(q.practitioner),
            q.expires_on,
            q.practitioner_id,
        )
        for q in quals.order_by("expires_on")
    ]


def get_or_404(getter: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call a records service getter; a missing record is the page's 404."""
    try:
        return getter(*args, **kwargs)
    except RecordNotFound as missing:
        raise Http404(str(missing)) from missing


@dataclass(frozen=True)
class PhotoPair:
    """The latest 'before' and the latest later photograph of one view, side by side."""

    view: str
    before: Photo | None
    after: Photo | None


def photo_pairs(client: Client) -> list[PhotoPair]:
    photos = [
        p
        for p in client.photos.select_related("consent").order_by("taken_at")
        if photo_service.viewable(p)
    ]
    pairs = []
    for view, label in Photo.View.choices:
        of_view = [p for p in photos if p.view == view]
        before = [p for p in of_view if p.phase == Photo.Phase.BEFORE]
        after = [p for p in of_view if p.phase != Photo.Phase.BEFORE]
        if before or after:
            pairs.append(
                PhotoPair(str(label), before[-1] if before else None, after[-1] if after else None)
            )
    return pairs
