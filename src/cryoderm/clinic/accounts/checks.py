"""Start-up checks (``manage.py check`` and every server start): fail closed on weak set-ups."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher, get_hasher
from django.core.checks import Error, register

from cryoderm.clinic.accounts import config

# OWASP Password Storage Cheat Sheet: Argon2id with at least 19 MiB, t = 2, p = 1.
ARGON2_MIN_MEMORY_KIB = 19 * 1024
ARGON2_MIN_TIME_COST = 2


@register("security")
def password_hashing(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    hasher = get_hasher("default")
    if not isinstance(hasher, Argon2PasswordHasher):
        return [
            Error(
                f"the default password hasher is {type(hasher).__name__}, not Argon2id",
                hint="put django.contrib.auth.hashers.Argon2PasswordHasher first in PASSWORD_HASHERS",
                id="cryoderm.accounts.E001",
            )
        ]
    if hasher.memory_cost < ARGON2_MIN_MEMORY_KIB or hasher.time_cost < ARGON2_MIN_TIME_COST:
        return [
            Error(
                f"Argon2 parameters m = {hasher.memory_cost} KiB, t = {hasher.time_cost} are "
                f"below OWASP's minimum (m >= {ARGON2_MIN_MEMORY_KIB} KiB, t >= {ARGON2_MIN_TIME_COST})",
                id="cryoderm.accounts.E002",
            )
        ]
    return []


@register("security")
def throttle_idle_and_mfa_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    return [Error(problem, id="cryoderm.accounts.E003") for problem in config.problems()]


@register("security")
def middleware_present(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    required = (
        "django.middleware.csrf.CsrfViewMiddleware",
        "csp.middleware.CSPMiddleware",
        "cryoderm.clinic.accounts.middleware.IdleLogoutMiddleware",
        "cryoderm.clinic.accounts.middleware.SessionCookieShapeMiddleware",
    )
    return [
        Error(f"{name} is missing from MIDDLEWARE", id="cryoderm.accounts.E004")
        for name in required
        if name not in settings.MIDDLEWARE
    ]
