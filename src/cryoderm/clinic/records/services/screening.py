"""Screening a client with cryoderm.clinical.screening, and signing off ``refer`` findings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from cryoderm.clinic import audit
from cryoderm.clinical.answers import parse_answers
from cryoderm.clinical.screening import screen

from ..errors import Conflict, InvalidRecord
from ..models import Client, ClinicPolicy, Practitioner, ReferralSignOff, ScreeningResponse
from ._common import load, now_or, require_text


@transaction.atomic
def submit(
    actor: Any,
    client_id: object,
    answers: Mapping[str, Any],
    *,
    modality: str | None = None,
    zones: Iterable[str] | None = None,
    at: dt.datetime | None = None,
) -> ScreeningResponse:
    """Screen the answers under the clinic's policy and store answers and verdict together.

    Bad answers raise cryoderm.clinical's InvalidAnswer (naming the field) before anything is
    written."""
    client = load(Client, client_id)
    screened_at = now_or(at)
    parsed = parse_answers(answers)
    policy = ClinicPolicy.current().screening_rules()
    verdict = screen(
        parsed,
        policy=policy,
        modality=modality,
        zones=tuple(zones) if zones is not None else None,
        today=timezone.localdate(screened_at),
    )
    stored = verdict.to_json_dict()
    response = ScreeningResponse.objects.create(
        client=client,
        answers=parsed.to_json_dict(),
        policy=verdict.policy[:200],
        modality=modality or "",
        outcome=verdict.outcome,
        findings=stored["findings"],
        verdict=stored,
        screened_at=screened_at,
        screened_by=actor,
    )
    audit.record(
        actor,
        "screening.submit",
        response,
        {
            "client": client.pk,
            "outcome": verdict.outcome,
            "rules": [f.rule_id for f in verdict.findings],
        },
    )
    return response


def _clinician(user: Any, field: str) -> Practitioner:
    practitioner = Practitioner.objects.filter(user=user, is_active=True).first()
    if practitioner is None:
        raise InvalidRecord(field, f"{user} is not an active practitioner of the clinic")
    return practitioner


@transaction.atomic
def sign_off(
    actor: Any,
    screening_id: object,
    rule_id: str,
    *,
    reason: str,
    second_clinician: Any,
    at: dt.datetime | None = None,
) -> ReferralSignOff:
    """Override one ``refer`` finding: the actor and a second clinician, with a reason."""
    screening = load(ScreeningResponse, screening_id, lock=True)
    refer_rules = screening.rule_ids("refer")
    if rule_id not in refer_rules:
        allowed = ", ".join(refer_rules) or "none in this screening"
        raise InvalidRecord("rule_id", f"{rule_id!r} is not a refer finding here ({allowed})")
    reason = require_text("reason", reason)
    _clinician(actor, "signed_by")
    _clinician(second_clinician, "second_clinician")
    if getattr(actor, "pk", None) == getattr(second_clinician, "pk", None):
        raise InvalidRecord("second_clinician", "must be a different clinician from the signer")
    if screening.signoffs.filter(rule_id=rule_id).exists():
        raise Conflict(f"{rule_id} is already signed off on screening {screening.pk}", "rule_id")
    signoff = ReferralSignOff.objects.create(
        screening=screening,
        rule_id=rule_id,
        reason=reason,
        signed_by=actor,
        second_clinician=second_clinician,
        signed_at=now_or(at),
    )
    audit.record(
        actor,
        "screening.sign_off",
        screening,
        {"rule_id": rule_id, "second_clinician": second_clinician.pk},
    )
    return signoff
