"""Helpers shared by the services: validation into readable errors, loading by id."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from cryoderm.clinic.accounts import permissions
from cryoderm.clinic.accounts.errors import PermissionRefused
from cryoderm.physics.zones import zone_names

from ..errors import InvalidRecord, RecordNotFound

M = TypeVar("M", bound=models.Model)

#: How far ahead of the server's clock a time may be and still count as "now" (a device's or
#: a browser's clock a little fast). assumption: clocks synchronised by NTP agree within
#: seconds; a minute leaves room for a slow request without admitting a date in the future.
CLOCK_SKEW = dt.timedelta(minutes=1)

#: Labels of the clinic's own processes, which act for no person: the demo seed and set-up
#: (``system:``) and the ``cryoderm`` commands (``cli:``), run by whoever holds the server's
#: data directory; and the interlock forwarding its journal (``interlock:``).
SYSTEM_PREFIXES = ("system:", "cli:")
#: What a device (its token, ``device:<serial>``) or the interlock may do: nothing else.
MACHINE_ACTIONS = {"device:": ("reading.ingest",), "interlock:": ("reading.ingest", "session.stop")}


def authorize(actor: Any, action: str) -> None:
    """Raise PermissionRefused unless ``actor`` may do ``action`` (accounts' permission
    matrix for a user; the fixed scopes above for a process label)."""
    if isinstance(actor, str):
        if actor.startswith(SYSTEM_PREFIXES):
            return
        for prefix, actions in MACHINE_ACTIONS.items():
            if actor.startswith(prefix) and action in actions:
                return
        raise PermissionRefused(action=action, who=actor, roles=())
    permissions.require(actor, action)


def user_or_none(actor: Any) -> Any:
    """The user behind ``actor``, or None for a process label (for "recorded by" columns)."""
    return actor if getattr(actor, "pk", None) is not None else None


def validated(instance: M, *, exclude: list[str] | None = None) -> M:
    """Run the model's field and constraint validation; the first problem as InvalidRecord."""
    try:
        instance.full_clean(exclude=exclude, validate_unique=True)
    except ValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        message = " ".join(messages)
        if field == "__all__":
            # Constraint messages start with the field they concern ("ends_at: must be ...").
            field, _, rest = message.partition(": ")
            if not rest:
                field, rest = "record", message
            message = rest
        raise InvalidRecord(field, message) from error
    return instance


def load(model: type[M], ident: object, *, lock: bool = False) -> M:
    """The record of ``model`` with primary key ``ident``, optionally locked for update."""
    if isinstance(ident, model):
        ident = ident.pk
    queryset = model._default_manager.all()
    if lock:
        queryset = queryset.select_for_update()
    try:
        return queryset.get(pk=ident)
    except (model.DoesNotExist, ValueError, TypeError):
        raise RecordNotFound(model._meta.verbose_name, ident) from None


def now_or(moment: dt.datetime | None) -> dt.datetime:
    if moment is None:
        return timezone.now()
    if timezone.is_naive(moment):
        raise InvalidRecord("time", f"{moment.isoformat()} has no time zone; give one (e.g. Z)")
    return moment


def age_years(born: dt.date, on: dt.date) -> int:
    """Completed years of life on ``on`` (the birthday counts from its day; someone born on
    29 February is a year older on 1 March in a common year): the one age rule of the clinic,
    used by screening, planning, the plausibility check and the screening form's default."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def not_future(field: str, day: object) -> None:
    """Refuse a date of something that has happened (a service, a birth) in the future."""
    if isinstance(day, dt.date) and day > timezone.localdate():
        raise InvalidRecord(field, f"{day} is in the future; record what has happened")


def no_nul(field: str, text: str) -> str:
    """Refuse a NUL character: no clinical text has one, and PostgreSQL cannot store or
    compare it (a page's search or reason with one was a 500 there)."""
    if "\x00" in text:
        raise InvalidRecord(field, "may not contain NUL characters")
    return text


def require_text(field: str, value: Any) -> str:
    text = no_nul(field, str(value or "").strip())
    if not text:
        raise InvalidRecord(field, "required; may not be blank")
    return text


def require_finite(field: str, value: Any, unit: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidRecord(field, f"{value!r} is not a number [{unit}]") from None
    if not math.isfinite(number):
        raise InvalidRecord(field, f"{value!r} is not a finite number [{unit}]")
    return number


def require_zone(field: str, zone: str) -> str:
    names = zone_names()
    if zone not in names:
        raise InvalidRecord(field, f"{zone!r} is not a face zone; one of {', '.join(names)}")
    return zone
