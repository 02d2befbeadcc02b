"""Sign-in throttle: failures slow the one who fails, never lock the account for everyone.

A wrong password or second factor is a :class:`LoginFailure` row (so the throttle holds
across processes and restarts). Before each attempt the throttle asks how long the attempt
must wait, from three counts over the last ``window_s``:

- **this address and this name** (attempts from browsers the name has not signed in from):
  after ``free_failures`` failures, each further attempt waits ``base_delay_s`` doubled per
  failure, at most ``max_delay_s``, counted from the last failure;
- **this address, any name** (password spraying): the same, after ``address_free_failures``;
- **a known browser**: a browser in which the name signed in completely before carries a
  signed cookie naming it (one random id per name). Its attempts for that name are counted
  on their own and are exempt from the two counts above: a stranger failing for a name, even
  behind the same clinic router, does not slow the colleague at her usual workstation
  (the "device cookie" defence of the OWASP Authentication Cheat Sheet).

An attempt made while it must wait is refused without checking the password, and not
counted. Nothing ever locks an account; an administrator can forget a name's failures with
``cryoderm manage unlock_account USERNAME``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db.models import Count, Max, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from cryoderm.clinic.accounts import config
from cryoderm.clinic.accounts.models import LoginFailure

KNOWN_COOKIE = "cryoderm_known"
_SALT = "cryoderm.accounts.known-browser"
#: assumption: a workstation used at least twice a year stays known; longer gives a stolen
#: cookie more time, and it only exempts from delays (the password is still needed).
KNOWN_MAX_AGE_S = 180 * 24 * 3600
#: assumption: a shared clinic workstation has a handful of users; the oldest drop out.
KNOWN_NAMES_PER_BROWSER = 8


def _key(username: str) -> str:
    return username.strip().lower()[:150]


def address(request: HttpRequest | None) -> str:
    """The client's address as the server sees it (after any trusted-proxy rewriting)."""
    if request is None:
        return ""
    return str(request.META.get("REMOTE_ADDR", ""))[:64]


def _known(request: HttpRequest | None) -> dict[str, str]:
    if request is None:
        return {}
    raw = request.COOKIES.get(KNOWN_COOKIE)
    if not raw:
        return {}
    try:
        value = signing.loads(raw, salt=_SALT, max_age=KNOWN_MAX_AGE_S)
    except signing.BadSignature:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def known_device(request: HttpRequest | None, username: str) -> str:
    """The known-browser id this request carries for ``username``, or ""."""
    return _known(request).get(_key(username), "")


@dataclass(frozen=True)
class Wait:
    """An attempt must wait ``seconds`` because of failures counted for ``scope``."""

    username: str
    seconds: int
    scope: str

    def __str__(self) -> str:
        return (
            f"too many failed sign-ins for {self.username!r} {self.scope}; "
            f"try again in {self.seconds} s (your account is not locked)"
        )


def _delay_s(failures: int, free: int, policy: config.SecurityConfig) -> float:
    if failures < free:
        return 0.0
    return float(min(policy.base_delay_s * 2 ** (failures - free), policy.max_delay_s))


def _remaining_s(
    failures: QuerySet[LoginFailure], free: int, now: datetime, policy: config.SecurityConfig
) -> float:
    counted = failures.aggregate(n=Count("id"), last=Max("at"))
    delay = _delay_s(counted["n"], free, policy)
    if not delay:
        return 0.0
    return (counted["last"] + timedelta(seconds=delay) - now).total_seconds()


def wait_for(
    request: HttpRequest | None, username: str, now: datetime | None = None
) -> Wait | None:
    """How long an attempt for ``username`` from ``request`` must wait; None: try now."""
    policy = config.current()
    now = now or timezone.now()
    recent = LoginFailure.objects.filter(at__gte=now - timedelta(seconds=policy.window_s))
    device = known_device(request, username)
    if device:
        checks = [(recent.filter(known_device=device), policy.free_failures, "in this browser")]
    else:
        untrusted = recent.filter(known_device="", remote_addr=address(request))
        checks = [
            (
                untrusted.filter(username=_key(username)),
                policy.free_failures,
                "from this address",
            ),
            (untrusted, policy.address_free_failures, "and other names from this address"),
        ]
    for failures, free, scope in checks:
        remaining = _remaining_s(failures, free, now, policy)
        if remaining > 0:
            return Wait(username=username, seconds=max(1, round(remaining + 0.5)), scope=scope)
    return None


def record_failure(request: HttpRequest | None, username: str, now: datetime | None = None) -> None:
    now = now or timezone.now()
    # Failures older than the window count for nothing: drop them, so that an attacker's
    # attempts cannot grow the table without bound.
    LoginFailure.objects.filter(at__lt=now - timedelta(seconds=config.current().window_s)).delete()
    LoginFailure.objects.create(
        username=_key(username),
        at=now,
        remote_addr=address(request),
        known_device=known_device(request, username),
    )


def signed_in(request: HttpRequest, username: str) -> None:
    """A complete sign-in: forget this browser's and this address's failures for the name
    (not the address's failures for other names: an attacker with an account of their own
    must not be able to wipe their spraying count)."""
    device = known_device(request, username)
    LoginFailure.objects.filter(
        Q(username=_key(username), remote_addr=address(request), known_device="")
        | (Q(known_device=device) if device else Q(pk__in=[]))
    ).delete()


def remember(response: HttpResponse, request: HttpRequest, username: str) -> None:
    """Mark this browser as known for ``username`` (a signed cookie, HttpOnly)."""
    names = _known(request)
    key = _key(username)
    # Kept (and moved to the newest place): its failures stay counted on their own.
    names[key] = names.pop(key, None) or secrets.token_hex(8)
    kept: dict[str, Any] = dict(list(names.items())[-KNOWN_NAMES_PER_BROWSER:])
    response.set_cookie(
        KNOWN_COOKIE,
        signing.dumps(kept, salt=_SALT),
        max_age=KNOWN_MAX_AGE_S,
        httponly=True,
        secure=settings.SESSION_COOKIE_SECURE,
        samesite="Lax",
    )


def clear(username: str) -> int:
    """Forget every failure for ``username`` (an administrator's decision)."""
    deleted, _ = LoginFailure.objects.filter(username=_key(username)).delete()
    return deleted
