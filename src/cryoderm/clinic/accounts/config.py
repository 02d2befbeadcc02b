"""The accounts layer's settings, read from Django settings and validated by a start-up check.

| setting                            | default | meaning                                           |
|------------------------------------|---------|---------------------------------------------------|
| CRYODERM_SIGNIN_FREE_FAILURES      | 3       | failures per address and name (or per known browser) before delays |
| CRYODERM_SIGNIN_ADDRESS_FREE_FAILURES | 30   | failures from one address (any name) before delays |
| CRYODERM_SIGNIN_BASE_DELAY_S       | 2       | the first delay; each further failure doubles it, s |
| CRYODERM_SIGNIN_MAX_DELAY_S        | 300     | the longest delay, s                               |
| CRYODERM_SIGNIN_WINDOW_S           | 3600    | failures older than this are forgotten, s          |
| CRYODERM_IDLE_LOGOUT_MINUTES       | 15      | idle time after which a UI session is ended, min  |
| CRYODERM_MFA_REQUIRED_ROLES        | admin, medical_director, practitioner | roles that must sign in with a second factor |

assumption: the delays let a person who mistypes a few times carry on at once (3 free
failures) while an attacker at one address gets about 20 guesses an hour at one name
(3 + doublings from 2 s up to 300 s, then one per 5 min), far below the 100 consecutive
failures NIST SP 800-63B (Grassi2017, section 5.2.2) allows before an account may be locked;
no count ever locks an account. HIPAA 164.312(a)(2)(iii) asks for automatic logoff; the
15 minutes follow common clinical practice. Each clinic may set its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from cryoderm.clinic.accounts.permissions import ROLES

DEFAULTS: dict[str, object] = {
    "CRYODERM_SIGNIN_FREE_FAILURES": 3,
    "CRYODERM_SIGNIN_ADDRESS_FREE_FAILURES": 30,
    "CRYODERM_SIGNIN_BASE_DELAY_S": 2,
    "CRYODERM_SIGNIN_MAX_DELAY_S": 300,
    "CRYODERM_SIGNIN_WINDOW_S": 3600,
    "CRYODERM_IDLE_LOGOUT_MINUTES": 15,
    "CRYODERM_MFA_REQUIRED_ROLES": ("admin", "medical_director", "practitioner"),
}
LIMITS = {
    "CRYODERM_SIGNIN_FREE_FAILURES": (1, 100),
    "CRYODERM_SIGNIN_ADDRESS_FREE_FAILURES": (1, 10_000),
    "CRYODERM_SIGNIN_BASE_DELAY_S": (1, 3600),
    "CRYODERM_SIGNIN_MAX_DELAY_S": (1, 3600),
    "CRYODERM_SIGNIN_WINDOW_S": (60, 86_400),
    "CRYODERM_IDLE_LOGOUT_MINUTES": (1, 24 * 60),
}


@dataclass(frozen=True)
class SecurityConfig:
    """Sign-in throttle, idle logout and second-factor policy (units as named)."""

    free_failures: int
    address_free_failures: int
    base_delay_s: int
    max_delay_s: int
    window_s: int
    idle_logout_minutes: int
    mfa_required_roles: tuple[str, ...]


def _value(name: str) -> object:
    return getattr(settings, name, DEFAULTS[name])


def problems() -> list[str]:
    """Each setting that is not within its limits, as a sentence."""
    found = []
    for name, (low, high) in LIMITS.items():
        value = _value(name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            found.append(f"{name} = {value!r}: must be an integer in [{low}, {high}]")
    roles = _value("CRYODERM_MFA_REQUIRED_ROLES")
    unknown = [r for r in roles if r not in ROLES] if isinstance(roles, list | tuple) else [roles]
    if unknown:
        found.append(
            f"CRYODERM_MFA_REQUIRED_ROLES = {roles!r}: roles must be among {', '.join(ROLES)}"
        )
    return found


def current() -> SecurityConfig:
    def number(name: str) -> int:
        return int(_value(name))  # type: ignore[call-overload]

    return SecurityConfig(
        free_failures=number("CRYODERM_SIGNIN_FREE_FAILURES"),
        address_free_failures=number("CRYODERM_SIGNIN_ADDRESS_FREE_FAILURES"),
        base_delay_s=number("CRYODERM_SIGNIN_BASE_DELAY_S"),
        max_delay_s=number("CRYODERM_SIGNIN_MAX_DELAY_S"),
        window_s=number("CRYODERM_SIGNIN_WINDOW_S"),
        idle_logout_minutes=number("CRYODERM_IDLE_LOGOUT_MINUTES"),
        mfa_required_roles=tuple(_value("CRYODERM_MFA_REQUIRED_ROLES")),  # type: ignore[call-overload]
    )
