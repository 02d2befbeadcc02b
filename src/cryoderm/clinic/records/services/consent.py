"""Consent texts, signed consents (immutable afterwards), their withdrawal and voiding.

A consent is signed by the client, by name and with a drawn signature: ``signer_name`` is the
client's name as registered, and ``signature`` is the drawn strokes as an SVG path in the
pad's pixels (``M x y L x y ...``, one ``M`` per stroke). A tap, a dot or a short dash is
not a signature (:func:`check_signature`). A withdrawal is the client's decision, recorded
by a clinician with the client's confirmation and a reason; a consent recorded by mistake
(the wrong client, the wrong scope) is voided as entered in error, with a reason. Neither
erases anything that was signed."""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from typing import Any

from django.db import transaction
from django.db.models import Max

from cryoderm.clinic import audit

from ..errors import Conflict, InvalidRecord
from ..models import Client, Consent, ConsentScope, ConsentText
from . import corrections
from ._common import authorize, load, now_or, require_text, user_or_none

#: assumption: a handwritten name on a signature pad spans at least 60 px by 15 px and is
#: traced with at least 12 sampled points and 120 px of ink; a tap, a dot, a tick or a short
#: dash is smaller on every count.
MIN_SIGNATURE_POINTS = 12
MIN_SIGNATURE_WIDTH_PX = 60.0
MIN_SIGNATURE_HEIGHT_PX = 15.0
MIN_SIGNATURE_INK_PX = 120.0
#: The drawing the pages keep: only move-to and line-to commands and numbers.
_PATH = re.compile(r"^(?:\s*[ML]\s*-?\d+(?:\.\d+)?[\s,]+-?\d+(?:\.\d+)?)+\s*$")
_STEP = re.compile(r"([ML])\s*(-?\d+(?:\.\d+)?)[\s,]+(-?\d+(?:\.\d+)?)")
MAX_SIGNATURE_CHARS = 200_000


def _scope(scope: str) -> str:
    if scope not in ConsentScope.values:
        raise InvalidRecord("scope", f"{scope!r} is not one of {', '.join(ConsentScope.values)}")
    return scope


def current_text(scope: str) -> ConsentText | None:
    """The newest published text for ``scope``."""
    return ConsentText.objects.filter(scope=_scope(scope)).order_by("-version").first()


@transaction.atomic
def publish_text(
    actor: Any, scope: str, *, title: str, body: str, at: dt.datetime | None = None
) -> ConsentText:
    """A new version of the wording for ``scope``; earlier versions stay as they were."""
    authorize(actor, "consent.publish")
    _scope(scope)
    latest = ConsentText.objects.filter(scope=scope).aggregate(v=Max("version"))["v"] or 0
    text = ConsentText.objects.create(
        scope=scope,
        version=latest + 1,
        title=require_text("title", title),
        body=require_text("body", body),
        published_at=now_or(at),
    )
    audit.record(actor, "consent_text.publish", text, {"scope": scope, "version": text.version})
    return text


def _points(path: str) -> list[tuple[str, float, float]]:
    return [(c, float(x), float(y)) for c, x, y in _STEP.findall(path)]


def signature_box(signature: str, margin_px: float = 5.0) -> str:
    """The SVG viewBox that frames a stored signature path ("x y width height")."""
    points = _points(signature) if _PATH.match(signature or "") else []
    if not points:
        return "0 0 360 120"
    xs, ys = [p[1] for p in points], [p[2] for p in points]
    return (
        f"{min(xs) - margin_px:g} {min(ys) - margin_px:g} "
        f"{max(xs) - min(xs) + 2 * margin_px:g} {max(ys) - min(ys) + 2 * margin_px:g}"
    )


def check_signature(signature: str) -> str:
    """The signature path when it is a real stroke; else InvalidRecord naming ``signature``."""
    path = str(signature or "").strip()
    if len(path) > MAX_SIGNATURE_CHARS or not _PATH.match(path) or not path.startswith("M"):
        raise InvalidRecord(
            "signature", "the drawn strokes as a path of M and L commands; please sign again"
        )
    points, ink = 0, 0.0
    xs: list[float] = []
    ys: list[float] = []
    last: tuple[float, float] | None = None
    for command, x, y in _points(path):
        if command == "L" and last is not None:
            ink += math.hypot(x - last[0], y - last[1])
        last = (x, y)
        xs.append(x)
        ys.append(y)
        points += 1
    width, height = max(xs) - min(xs), max(ys) - min(ys)
    if (
        points < MIN_SIGNATURE_POINTS
        or width < MIN_SIGNATURE_WIDTH_PX
        or height < MIN_SIGNATURE_HEIGHT_PX
        or ink < MIN_SIGNATURE_INK_PX
    ):
        raise InvalidRecord(
            "signature",
            f"a tap or a short line is not a signature ({points} points, {width:.0f} x "
            f"{height:.0f} px, {ink:.0f} px drawn): the client signs their name",
        )
    return path


def _words(name: str) -> list[str]:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.findall(r"[a-z]+", plain.casefold())


def check_signer(client: Client, signer_name: str) -> str:
    """The signer's name when it is the client's name as registered (case, accents, spaces
    and punctuation aside)."""
    name = require_text("signer_name", signer_name)
    if _words(name) != _words(client.full_name):
        raise InvalidRecord(
            "signer_name",
            f"{name!r} is not the client's name; the client, {client.full_name}, signs",
        )
    return name


@transaction.atomic
def sign(
    actor: Any,
    client_id: object,
    scope: str,
    *,
    signer_name: str,
    signature: str,
    ip_address: str | None = None,
    user_agent: str = "",
    at: dt.datetime | None = None,
) -> Consent:
    """The client signs the current text for ``scope``, witnessed by ``actor``."""
    authorize(actor, "consent.record")
    client = load(Client, client_id)
    text = current_text(scope)
    if text is None:
        raise Conflict(f"no {scope} consent text is published yet; publish one first", "scope")
    consent = Consent.objects.create(
        client=client,
        scope=scope,
        text=text,
        text_sha256=text.sha256,
        signer_name=check_signer(client, signer_name),
        signature=check_signature(signature),
        signed_at=now_or(at),
        ip_address=ip_address or None,
        user_agent=user_agent[:300],
        witnessed_by=actor,
    )
    audit.record(
        actor,
        "consent.sign",
        consent,
        {"client": client.pk, "scope": scope, "version": text.version},
    )
    return consent


def _closable(consent: Consent, confirmed: bool, reason: str) -> str:
    if consent.entered_in_error_at is not None:
        raise Conflict(
            f"consent {consent.pk} was voided as entered in error", "entered_in_error_at"
        )
    if not confirmed:
        raise InvalidRecord("confirm", "confirm it: tick the confirmation")
    return require_text("reason", reason)


@transaction.atomic
def withdraw(
    actor: Any,
    consent_id: object,
    *,
    reason: str,
    confirmed: bool,
    at: dt.datetime | None = None,
) -> Consent:
    """The client withdraws the consent: recorded by a clinician (``consent.withdraw``) with
    the client's confirmation and the reason; what was signed stays as it was."""
    authorize(actor, "consent.withdraw")
    consent = load(Consent, consent_id, lock=True)
    if consent.withdrawn_at is not None:
        raise Conflict(f"consent {consent.pk} was already withdrawn", "withdrawn_at")
    consent.withdrawal_reason = _closable(consent, confirmed, reason)
    consent.withdrawn_at = now_or(at)
    consent.withdrawn_by = user_or_none(actor)
    consent.save(update_fields=["withdrawn_at", "withdrawal_reason", "withdrawn_by"])
    audit.record(
        actor,
        "consent.withdraw",
        consent,
        {"client": consent.client_id, "reason": consent.withdrawal_reason},
    )
    return consent


@transaction.atomic
def mark_entered_in_error(
    actor: Any,
    consent_id: object,
    *,
    reason: str,
    confirmed: bool,
    at: dt.datetime | None = None,
) -> Consent:
    """Void a consent recorded by mistake (the correction of a consent: it keeps everything
    signed, and no gate relies on it any more)."""
    authorize(actor, "consent.withdraw")
    consent = load(Consent, consent_id, lock=True)
    why = _closable(consent, confirmed, reason)
    consent.entered_in_error_at = now_or(at)
    consent.save(update_fields=["entered_in_error_at"])
    corrections.note(actor, consent, {"status": ("signed", "entered in error")}, why)
    audit.record(
        actor,
        "consent.entered_in_error",
        consent,
        {"client": consent.client_id, "reason": why},
    )
    return consent


def active(client: Client, scope: str) -> Consent | None:
    """The client's newest signed consent for ``scope`` that is in force."""
    return (
        Consent.objects.filter(
            client=client,
            scope=_scope(scope),
            withdrawn_at__isnull=True,
            entered_in_error_at__isnull=True,
        )
        .order_by("-signed_at", "-id")
        .first()
    )
