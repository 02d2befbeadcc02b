"""Screening a client with cryoderm.clinical.screening, choosing the screening that counts
for a treatment, and signing off ``refer`` findings by two authenticated clinicians.

The choice of screening (:func:`current_screening`) and the question "is every refer
finding signed off" (:func:`unsigned_referrals`) are answered here and only here: the
gates, the planning service and the pages all ask these two functions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from cryoderm.clinic import audit
from cryoderm.clinic.accounts import permissions
from cryoderm.clinical.answers import parse_answers
from cryoderm.clinical.questionnaire import response_to_plain
from cryoderm.clinical.screening import Verdict, screen

from ..errors import Conflict, InvalidRecord
from ..models import Client, ClinicPolicy, Practitioner, ReferralSignOff, ScreeningResponse
from ._common import CLOCK_SKEW, age_years, authorize, load, now_or, require_text

__all__ = [
    "SecondClinician",
    "Verdict",
    "authenticate_second",
    "covers_zones",
    "current_screening",
    "for_client",
    "get",
    "preview",
    "sign_off",
    "submit",
    "unsigned_referrals",
    "verdict_of",
]


def _answers_for(
    client: Client, answers: Mapping[str, Any], on: dt.date
) -> tuple[Mapping[str, Any], dict[str, Any]]:
    """The answers with the client's age on ``on`` (birthday-aware) and registered sex from
    the record, and what the caller had given instead where it differed (for the audit).

    The record decides who is screened: an age typed into a form or an API call (a
    16-year-old "screened" as 30, past the minimum-age rule; a fixed age that goes stale
    on the next birthday) is replaced, never believed. Correct the client's record (an
    audited correction) if it is the record that is wrong."""
    plain: Any = answers
    if isinstance(answers, Mapping) and answers.get("resourceType") == "QuestionnaireResponse":
        plain = response_to_plain(answers)
    if not isinstance(plain, Mapping):
        return answers, {}
    replaced: dict[str, Any] = {}
    record = {"age_years": age_years(client.date_of_birth, on)}
    if client.sex in ("female", "male"):
        record["sex"] = client.sex
    for name, value in record.items():
        given = plain.get(name)
        if given is not None and given != value:
            replaced[name] = given
    return {**plain, **record}, replaced


def _verdict(
    answers: Mapping[str, Any],
    modality: str | None,
    zones: Iterable[str] | None,
    on: dt.date,
) -> tuple[Any, Verdict]:
    parsed = parse_answers(answers)
    verdict = screen(
        parsed,
        policy=ClinicPolicy.current().screening_rules(),
        modality=modality,
        zones=tuple(zones) if zones is not None else None,
        today=on,
    )
    return parsed, verdict


def preview(
    actor: Any,
    answers: Mapping[str, Any],
    *,
    client_id: object,
    modality: str | None = None,
    zones: Iterable[str] | None = None,
) -> Verdict:
    """The verdict the client's answers would get now under the clinic's policy (their age
    and sex from the record, as :func:`submit` takes them); nothing is stored."""
    authorize(actor, "screening.submit")
    client = load(Client, client_id)
    on = timezone.localdate()
    return _verdict(_answers_for(client, answers, on)[0], modality, zones, on)[1]


def verdict_of(screening: ScreeningResponse) -> Verdict:
    """The verdict as it was given and stored (a later change of the rules changes nothing)."""
    return Verdict.from_json_dict(screening.verdict)


@transaction.atomic
def get(actor: Any, screening_id: object) -> ScreeningResponse:
    """One screening, the read audited."""
    authorize(actor, "screening.view")
    screening = load(ScreeningResponse, screening_id)
    audit.record(actor, "screening.read", screening, {"client": screening.client_id})
    return screening


@transaction.atomic
def for_client(actor: Any, client_id: object) -> list[ScreeningResponse]:
    """A client's screenings, newest first, the read audited."""
    authorize(actor, "screening.view")
    client = load(Client, client_id)
    found = list(
        ScreeningResponse.objects.filter(client=client)
        .select_related("screened_by")
        .order_by("-screened_at", "-id")
    )
    audit.record(actor, "screening.read", client, {"ids": [s.pk for s in found]})
    return found


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
    authorize(actor, "screening.submit")
    client = load(Client, client_id)
    screened_at = now_or(at)
    if screened_at > timezone.now() + CLOCK_SKEW:
        raise InvalidRecord("screened_at", f"{screened_at:%Y-%m-%d %H:%M} is in the future")
    on = timezone.localdate(screened_at)
    from_record, replaced = _answers_for(client, answers, on)
    parsed, verdict = _verdict(from_record, modality, zones, on)
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
            **({"given_instead_of_record": replaced} if replaced else {}),
        },
    )
    return response


def covers_zones(screening: ScreeningResponse, zones: Iterable[str]) -> bool:
    """True when the screening was for every zone (zones None) or for all of ``zones``."""
    screened = screening.verdict.get("zones") if isinstance(screening.verdict, dict) else None
    return screened is None or set(zones) <= set(screened)


def current_screening(
    client_id: object, modality: str, zones: Iterable[str]
) -> ScreeningResponse | None:
    """The client's newest screening for ``modality`` (or for every modality) that covers
    ``zones``: the one screening a treatment of those zones with that modality relies on.

    A screening for some zones says nothing about area conditions elsewhere, and one for
    another modality nothing about this one's contraindications."""
    wanted = list(zones)
    candidates = (
        ScreeningResponse.objects.filter(client_id=client_id, modality__in=("", modality))
        .prefetch_related("signoffs")
        .order_by("-screened_at", "-id")
    )
    for screening in candidates.iterator(chunk_size=20):
        if covers_zones(screening, wanted):
            return screening
    return None


def unsigned_referrals(screening: ScreeningResponse) -> list[str]:
    """The screening's ``refer`` findings that have no sign-off yet, in verdict order."""
    signed = {signoff.rule_id for signoff in screening.signoffs.all()}
    return [rule for rule in screening.rule_ids("refer") if rule not in signed]


@dataclass(frozen=True)
class SecondClinician:
    """Who confirms a sign-off, with proof that they are present: their password, or a
    one-time code from their authenticator (answered by an authentication backend that
    accepts ``one_time_code``). Never shown in a repr or a log."""

    username: str
    password: str = field(default="", repr=False)
    one_time_code: str = field(default="", repr=False)


def _clinician(user: Any, field_name: str) -> Practitioner:
    practitioner = Practitioner.objects.filter(user=user, is_active=True).first()
    if practitioner is None:
        raise InvalidRecord(field_name, f"{user} is not an active practitioner of the clinic")
    return practitioner


def _not_the_same_person(signer: Any, second: Any) -> None:
    """Refuse a second clinician who is the signer under another account: the same e-mail
    address, or the same professional registration number. (Two accounts for one person
    are against the clinic's rules, docs/security.md; this catches the ones that give
    themselves away.)"""
    mine = (getattr(signer, "email", "") or "").strip().casefold()
    theirs = (getattr(second, "email", "") or "").strip().casefold()
    if mine and mine == theirs:
        raise InvalidRecord(
            "second_clinician",
            f"{second.get_username()} has the signer's e-mail address: the second clinician "
            "must be another person",
        )
    numbers = {
        practitioner.user_id: practitioner.registration_number.strip().casefold()
        for practitioner in Practitioner.objects.filter(user__in=(signer, second))
    }
    mine, theirs = numbers.get(getattr(signer, "pk", None), ""), numbers.get(second.pk, "")
    if mine and mine == theirs:
        raise InvalidRecord(
            "second_clinician",
            f"{second.get_username()} has the signer's registration number: the second "
            "clinician must be another person",
        )


def authenticate_second(second: SecondClinician, request: HttpRequest | None = None) -> Any:
    """The second clinician's user, once their password or one-time code is checked; a
    failure counts against their account as a failed sign-in does (accounts' lockout)."""
    username = require_text("second_clinician", second.username)
    if bool(second.password) == bool(second.one_time_code):
        raise InvalidRecord(
            "second_password",
            "the second clinician confirms with their password or a one-time code (one of them)",
        )
    if second.password:
        user = authenticate(request, username=username, password=second.password)
    else:
        user = authenticate(request, username=username, one_time_code=second.one_time_code)
    if user is None:
        raise InvalidRecord(
            "second_password",
            f"the credentials given for {username!r} do not match an active clinician "
            "(or the account is locked after failed attempts)",
        )
    return user


def sign_off(
    actor: Any,
    screening_id: object,
    rule_id: str,
    *,
    reason: str,
    second: SecondClinician,
    request: HttpRequest | None = None,
    at: dt.datetime | None = None,
) -> ReferralSignOff:
    """Override one ``refer`` finding: the actor and a second clinician who proves their
    presence here (password or one-time code), with a reason.

    The input is checked first; then the second clinician is authenticated, before the
    sign-off's transaction opens, so that a wrong password is counted against their account
    even though nothing else is written."""
    authorize(actor, "override.sign")
    screening = load(ScreeningResponse, screening_id)
    refer_rules = screening.rule_ids("refer")
    if rule_id not in refer_rules:
        allowed = ", ".join(refer_rules) or "none in this screening"
        raise InvalidRecord("rule_id", f"{rule_id!r} is not a refer finding here ({allowed})")
    reason = require_text("reason", reason)
    _clinician(actor, "signed_by")
    if second.username.strip() == getattr(actor, "get_username", lambda: None)():
        raise InvalidRecord("second_clinician", "must be a different clinician from the signer")
    second_user = authenticate_second(second, request)
    if second_user.pk == getattr(actor, "pk", None):
        raise InvalidRecord("second_clinician", "must be a different clinician from the signer")
    _not_the_same_person(actor, second_user)
    if not permissions.is_allowed(second_user, "override.sign"):
        raise InvalidRecord(
            "second_clinician", f"{second_user.get_username()} may not sign off refer findings"
        )
    _clinician(second_user, "second_clinician")
    with transaction.atomic():
        screening = load(ScreeningResponse, screening.pk, lock=True)
        if screening.signoffs.filter(rule_id=rule_id).exists():
            raise Conflict(
                f"{rule_id} is already signed off on screening {screening.pk}", "rule_id"
            )
        signoff = ReferralSignOff.objects.create(
            screening=screening,
            rule_id=rule_id,
            reason=reason,
            signed_by=actor,
            second_clinician=second_user,
            signed_at=now_or(at),
        )
        audit.record(
            actor,
            "screening.sign_off",
            screening,
            {
                "rule_id": rule_id,
                "second_clinician": second_user.pk,
                "confirmed_by": "password" if second.password else "one-time code",
            },
        )
    return signoff
