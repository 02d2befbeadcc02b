"""Publishing consent texts, signing consents (immutable afterwards) and withdrawing them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Max

from cryoderm.clinic import audit

from ..errors import Conflict, InvalidRecord
from ..models import Client, Consent, ConsentScope, ConsentText
from ._common import authorize, load, now_or, require_text


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
        signer_name=require_text("signer_name", signer_name),
        signature=require_text("signature", signature),
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


@transaction.atomic
def withdraw(actor: Any, consent_id: object, *, at: dt.datetime | None = None) -> Consent:
    authorize(actor, "consent.withdraw")
    consent = load(Consent, consent_id, lock=True)
    if consent.withdrawn_at is not None:
        raise Conflict(f"consent {consent.pk} was already withdrawn", "withdrawn_at")
    consent.withdrawn_at = now_or(at)
    consent.save(update_fields=["withdrawn_at"])
    audit.record(actor, "consent.withdraw", consent, {"client": consent.client_id})
    return consent


def active(client: Client, scope: str) -> Consent | None:
    """The client's newest signed, not withdrawn consent for ``scope``."""
    return (
        Consent.objects.filter(client=client, scope=_scope(scope), withdrawn_at__isnull=True)
        .order_by("-signed_at", "-id")
        .first()
    )
