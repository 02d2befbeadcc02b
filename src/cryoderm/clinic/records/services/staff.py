"""Practitioners and their qualifications."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from cryoderm.clinic import audit

from ..models import Practitioner, Qualification
from ._common import authorize, load, not_future, require_text, validated


@transaction.atomic
def add_practitioner(
    actor: Any, user: Any, *, display_name: str, registration_number: str = ""
) -> Practitioner:
    authorize(actor, "staff.manage")
    practitioner = validated(
        Practitioner(
            user=user,
            display_name=require_text("display_name", display_name),
            registration_number=registration_number,
        )
    )
    practitioner.save()
    audit.record(actor, "practitioner.create", practitioner, {"user": user.pk})
    return practitioner


@transaction.atomic
def add_qualification(
    actor: Any,
    practitioner_id: object,
    *,
    modality: str,
    title: str,
    issuer: str,
    issued_on: dt.date,
    expires_on: dt.date,
    certificate_number: str = "",
) -> Qualification:
    authorize(actor, "staff.manage")
    practitioner = load(Practitioner, practitioner_id)
    not_future("issued_on", issued_on)
    qualification = validated(
        Qualification(
            practitioner=practitioner,
            modality=modality,
            title=title,
            issuer=issuer,
            issued_on=issued_on,
            expires_on=expires_on,
            certificate_number=certificate_number,
        )
    )
    qualification.save()
    audit.record(
        actor,
        "qualification.create",
        qualification,
        {"practitioner": practitioner.pk, "modality": modality, "expires_on": expires_on},
    )
    return qualification
