"""Device and API tokens: issued once in plaintext, stored as a SHA-256 hash.

A token reads ``cdt_<prefix>_<secret>``: the prefix finds the row, the secret (256 random
bits) is compared in constant time with the stored hash. A fast hash is enough here, unlike
for passwords, because the secret is random and long; it also keeps reading ingest cheap."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from cryoderm.clinic.accounts.models import ApiToken
from cryoderm.errors import UserInputError

SCHEME = "cdt"


@dataclass(frozen=True)
class IssuedToken:
    """A freshly issued token. ``plaintext`` exists only here: show it once, never store it."""

    token: ApiToken
    plaintext: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(name: str, user: Any, device: Any = None) -> IssuedToken:
    """Issue a token acting as ``user``, or, with ``device``, scoped to that one device."""
    name = name.strip()
    if not name or len(name) > 100:
        raise UserInputError(f"name = {name!r}: give a label of 1 to 100 characters")
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        name=name, prefix=prefix, secret_sha256=_digest(secret), user=user, device=device
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
        .filter(prefix=prefix, revoked_at__isnull=True)
        .first()
    )
    if token is None or not hmac.compare_digest(token.secret_sha256, _digest(secret)):
        return None
    if not token.user.is_active:
        return None
    return token


def revoke(token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
