"""The clinic's policy (name, screening validity, screening policy): changed by the medical
director, each change a correction that keeps the earlier value."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from ..errors import InvalidRecord
from ..models import ClinicPolicy
from . import corrections
from ._common import authorize

EDITABLE = ("clinic_name", "clinic_address", "screening_validity_days", "screening_policy")
#: assumption: a screening answers for the client's health at the time; one older than a
#: year would let a gate rely on answers given before a year of possible new conditions,
#: medicines or pregnancies. The clinic may shorten it, never lengthen it past this.
MAX_SCREENING_VALIDITY_DAYS = 365


def _check(changed: ClinicPolicy) -> None:
    days = changed.screening_validity_days
    if not 1 <= days <= MAX_SCREENING_VALIDITY_DAYS:
        raise InvalidRecord(
            "screening_validity_days",
            f"{days} days; from 1 to {MAX_SCREENING_VALIDITY_DAYS} days",
        )
    # A screening policy that cannot be read is refused here, not at the next screening.
    changed.screening_rules()


@transaction.atomic
def update(actor: Any, *, reason: str, **fields: Any) -> ClinicPolicy:
    """Change the policy's ``fields`` with a reason."""
    authorize(actor, "policy.manage")
    policy = ClinicPolicy.current()
    return corrections.apply(
        actor,
        policy,
        fields,
        reason=reason,
        editable=EDITABLE,
        action="policy.update",
        check=_check,
    )
