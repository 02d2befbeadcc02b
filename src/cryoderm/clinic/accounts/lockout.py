"""Login lockout: after N failed logins for a username within a window, refuse that username
(even with the right password) until a quiet period has passed.

Failures are rows in :class:`LoginFailure`, so the lock holds across processes and restarts.
Attempts made while locked are not counted, so a lock ends ``duration`` after the last
counted failure; a successful login clears the count; an administrator unlocks with
``cryoderm manage unlock_account USERNAME``."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from cryoderm.clinic.accounts import config
from cryoderm.clinic.accounts.errors import AccountLocked
from cryoderm.clinic.accounts.models import LoginFailure


def _key(username: str) -> str:
    return username.strip().lower()


def locked_until(username: str, now: datetime | None = None) -> datetime | None:
    """When the lock on ``username`` ends, or None when it is not locked."""
    policy = config.current()
    now = now or timezone.now()
    recent = list(
        LoginFailure.objects.filter(
            username=_key(username), at__gte=now - timedelta(seconds=policy.lockout_window_s)
        )
        .order_by("-at")
        .values_list("at", flat=True)[: policy.lockout_failures]
    )
    if len(recent) < policy.lockout_failures:
        return None
    until = recent[0] + timedelta(seconds=policy.lockout_duration_s)
    return until if until > now else None


def check(username: str, now: datetime | None = None) -> None:
    """Raise :class:`AccountLocked` while ``username`` is locked."""
    now = now or timezone.now()
    until = locked_until(username, now)
    if until is not None:
        raise AccountLocked(username=username, retry_after_s=int((until - now).total_seconds()))


def record_failure(username: str, remote_addr: str = "", now: datetime | None = None) -> None:
    LoginFailure.objects.create(
        username=_key(username), at=now or timezone.now(), remote_addr=remote_addr[:64]
    )


def clear(username: str) -> int:
    """Forget the failures of ``username`` (a successful login, or an administrator's unlock)."""
    deleted, _ = LoginFailure.objects.filter(username=_key(username)).delete()
    return deleted
