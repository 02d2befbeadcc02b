"""Corrections: every edit of a record is an audited change that keeps the earlier value.

The edit services of the records (clients, devices, calibrations, outcomes) call
:func:`apply`: it refuses a field that may not be corrected, writes the record and a
:class:`~..models.Correction` (each field from what to what, the reason, who, when) and the
audit entry, in the caller's transaction. :func:`history` reads them back for a page or the
API. A correction is never changed itself: a wrong correction is corrected again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from cryoderm.clinic import audit
from cryoderm.clinic.accounts import permissions

from ..errors import InvalidRecord
from ..models import (
    CalibrationRecord,
    Client,
    Consent,
    Correction,
    Device,
    InstrumentalMeasure,
    OutcomeScore,
)
from ._common import authorize, load, require_text, user_or_none, validated

M = TypeVar("M", bound=models.Model)


def _plain(value: Any) -> Any:
    """The value as the JSON of the correction keeps it (dates as ISO text)."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def target_of(instance: models.Model) -> str:
    return instance._meta.label_lower


def apply(
    actor: Any,
    instance: M,
    changes: Mapping[str, Any],
    *,
    reason: str,
    editable: Iterable[str],
    action: str,
    check: Callable[[M], None] | None = None,
    derived: Iterable[str] = (),
) -> M:
    """Change ``instance``'s ``changes`` (fields of ``editable`` only), after ``check`` and the
    model's own validation; record the correction and its audit entry. ``check`` may set the
    ``derived`` fields (a calibration's verdict from its deviation): they are recorded too."""
    allowed = tuple(editable)
    for name in changes:
        if name not in allowed:
            raise InvalidRecord(
                name, f"cannot be corrected here; correctable: {', '.join(allowed)}"
            )
    why = require_text("reason", reason)
    diff: dict[str, dict[str, Any]] = {}
    for name, value in changes.items():
        if value is None and not instance._meta.get_field(name).null:
            raise InvalidRecord(name, "may not be removed (null); give a value")
        before = getattr(instance, name)
        if _plain(before) != _plain(value):
            diff[name] = {"from": _plain(before), "to": _plain(value)}
            setattr(instance, name, value)
    if not diff:
        raise InvalidRecord("changes", "nothing differs from the record as it is")
    follows = {name: getattr(instance, name) for name in derived}
    # The fields' own validation first (a name set to nothing), then the rules over them.
    validated(instance)
    if check is not None:
        check(instance)
    for name, before in follows.items():
        if _plain(before) != _plain(getattr(instance, name)):
            diff[name] = {"from": _plain(before), "to": _plain(getattr(instance, name))}
            validated(instance)
    instance.save(update_fields=sorted(diff))
    correction = Correction.objects.create(
        target=target_of(instance),
        target_id=instance.pk,
        changes=diff,
        reason=why,
        corrected_by=user_or_none(actor),
        corrected_by_label=audit.actor_label(actor)[:150],
        corrected_at=timezone.now(),
    )
    audit.record(
        actor,
        action,
        instance,
        {"fields": sorted(diff), "correction": correction.pk, "reason": why},
    )
    return instance


def note(actor: Any, instance: models.Model, changes: Mapping[str, Any], reason: str) -> None:
    """Record, as a correction, a change a service made itself (e.g. a consent voided)."""
    Correction.objects.create(
        target=target_of(instance),
        target_id=instance.pk,
        changes={name: {"from": _plain(a), "to": _plain(b)} for name, (a, b) in changes.items()},
        reason=reason,
        corrected_by=user_or_none(actor),
        corrected_by_label=audit.actor_label(actor)[:150],
        corrected_at=timezone.now(),
    )


def history(*records: tuple[type[models.Model], Iterable[object]]) -> list[Correction]:
    """The corrections of the given records ((model, ids) pairs), oldest first."""
    wanted = Q(pk__in=[])
    for model, ids in records:
        wanted |= Q(target=model._meta.label_lower, target_id__in=list(ids))
    return list(
        Correction.objects.filter(wanted)
        .select_related("corrected_by")
        .order_by("corrected_at", "id")
    )


@transaction.atomic
def for_client(actor: Any, client_id: object) -> list[Correction]:
    """The corrections of a client's record, and of their outcomes and consents when the
    actor may see those (``outcome.view``); the read is audited."""
    authorize(actor, "client.view")
    client = load(Client, client_id)
    records: list[tuple[type[models.Model], Iterable[object]]] = [(Client, [client.pk])]
    if isinstance(actor, str) or permissions.is_allowed(actor, "outcome.view"):
        records += [
            (OutcomeScore, client.scores.values_list("pk", flat=True)),
            (InstrumentalMeasure, client.measures.values_list("pk", flat=True)),
            (Consent, client.consents.values_list("pk", flat=True)),
        ]
    found = history(*records)
    audit.record(actor, "client.history", client, {"count": len(found)})
    return found


def for_device(actor: Any, device_id: object) -> list[Correction]:
    """The corrections of a device's record and of its calibrations."""
    authorize(actor, "device.view")
    device = load(Device, device_id)
    return history(
        (Device, [device.pk]),
        (CalibrationRecord, device.calibrations.values_list("pk", flat=True)),
    )
