"""The clinic's policy (name, screening validity, screening policy): changed by the medical
director, each change a correction that keeps the earlier value."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from ..models import ClinicPolicy
from . import corrections
from ._common import authorize

EDITABLE = ("clinic_name", "clinic_address", "screening_validity_days", "screening_policy")


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
        # A screening policy that cannot be read is refused here, not at the next screening.
        check=lambda changed: changed.screening_rules() and None,
    )
