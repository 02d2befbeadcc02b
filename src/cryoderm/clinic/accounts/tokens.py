"""Device and API tokens: issued once in plaintext, stored as a SHA-256 hash, expiring.

A token reads ``cdt_<prefix>_<secret>``: the prefix finds the row, the secret (256 random
bits) is compared in constant time with the stored hash. A fast hash is enough here, unlike
for passwords, because the secret is random and long; it also keeps reading ingest cheap.

Every token expires: a user token after ``USER_TOKEN_DAYS`` unless told otherwise, a device
token after ``DEVICE_TOKEN_DAYS``, never later than ``MAX_DAYS``. Issue, revocation and
listing are audited commands (``cryoderm manage issue_token / revoke_token / list_tokens``)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from cryoderm.clinic import audit
from cryoderm.clinic.accounts.models import ApiToken
from cryoderm.errors import UserInputError

SCHEME = "cdt"
#: assumption: a script acting as a person is re-issued each quarter, so that a forgotten
#: token does not outlive the person's need for it.
USER_TOKEN_DAYS = 90
#: assumption: a device token is renewed at the device's yearly service.
DEVICE_TOKEN_DAYS = 365
#: assumption: no token outlives two yearly services.
MAX_DAYS = 730


@dataclass(frozen=True)
class IssuedToken:
    """A freshly issued token. ``plaintext`` exists only here: show it once, never store it."""

    token: ApiToken
    plaintext: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def issue(
    name: str, user: Any, device: Any = None, *, days: int | None = None, actor: object = None
) -> IssuedToken:
    """Issue a token acting as ``user``, or, with ``device``, scoped to that one device;
    it expires after ``days`` (by default 90 for a user token, 365 for a device token)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise UserInputError(f"name = {name!r}: give a label of 1 to 100 characters")
    if days is None:
        days = DEVICE_TOKEN_DAYS if device is not None else USER_TOKEN_DAYS
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise UserInputError(f"days = {days!r}: a whole number of days from 1 to {MAX_DAYS}")
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        name=name,
        prefix=prefix,
        secret_sha256=_digest(secret),
        user=user,
        device=device,
        expires_at=timezone.now() + dt.timedelta(days=days),
    )
    audit.record(
        actor or "system",
        "token.issue",
        token,
        {"prefix": prefix, "user": user.pk, "device": getattr(device, "pk", None), "days": days},
    )
    return IssuedToken(token=token, plaintext=f"{SCHEME}_{prefix}_{secret}")


def authenticate(plaintext: str) -> ApiToken | None:
    """The live token matching ``plaintext``, or None (unknown, malformed or revoked)."""
    parts = plaintext.split("_", 2)
    if len(parts) != 3 or parts[0] != SCHEME:
        return None
    _, prefix, secret = parts
    token = (
        ApiToken.objects.select_related("user", "device")
        .filter(prefix=prefix, revoked_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )
    if token is None or not hmac.compare_digest(token.secret_sha256, _digest(secret)):
        return None
    if not token.user.is_active:
        return None
    return token


@transaction.atomic
def revoke(token: ApiToken, *, actor: object = None) -> bool:
    """Revoke ``token`` at once; False when it was already revoked."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit.record(actor or "system", "token.revoke", token, {"prefix": token.prefix})
    return True


def listing(*, include_inactive: bool = False) -> QuerySet[ApiToken]:
    """Tokens, newest first; by default only those still usable (not revoked or expired)."""
    tokens = ApiToken.objects.select_related("user", "device").order_by("-created_at")
    if not include_inactive:
        tokens = tokens.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())
    return tokens


def state(token: ApiToken, now: dt.datetime | None = None) -> str:
    """``active``, ``revoked`` or ``expired``."""
    if token.revoked_at is not None:
        return "revoked"
    return "expired" if token.expires_at <= (now or timezone.now()) else "active"
