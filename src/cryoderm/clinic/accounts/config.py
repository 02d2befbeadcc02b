"""The accounts layer's settings, read from Django settings and validated by a start-up check.

| setting                        | default | meaning                                           |
|--------------------------------|---------|---------------------------------------------------|
| CRYODERM_LOCKOUT_FAILURES      | 5       | failed logins within the window that lock a name |
| CRYODERM_LOCKOUT_WINDOW_S      | 900     | window over which failures are counted, s         |
| CRYODERM_LOCKOUT_DURATION_S    | 900     | how long a lock lasts after the last failure, s   |
| CRYODERM_IDLE_LOGOUT_MINUTES   | 15      | idle time after which a UI session is ended, min  |

ASVS V2.2.1 asks for anti-automation on login; HIPAA 164.312(a)(2)(iii) for automatic logoff.
The defaults follow common clinical practice (5 tries / 15 min); each clinic may set its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

DEFAULTS = {
    "CRYODERM_LOCKOUT_FAILURES": 5,
    "CRYODERM_LOCKOUT_WINDOW_S": 900,
    "CRYODERM_LOCKOUT_DURATION_S": 900,
    "CRYODERM_IDLE_LOGOUT_MINUTES": 15,
}
LIMITS = {
    "CRYODERM_LOCKOUT_FAILURES": (1, 100),
    "CRYODERM_LOCKOUT_WINDOW_S": (1, 86_400),
    "CRYODERM_LOCKOUT_DURATION_S": (1, 86_400),
    "CRYODERM_IDLE_LOGOUT_MINUTES": (1, 24 * 60),
}


@dataclass(frozen=True)
class SecurityConfig:
    """Lockout and idle-logout policy (counts, seconds, minutes as named)."""

    lockout_failures: int
    lockout_window_s: int
    lockout_duration_s: int
    idle_logout_minutes: int


def problems() -> list[str]:
    """Each setting that is not an integer within its limits, as a sentence."""
    found = []
    for name, (low, high) in LIMITS.items():
        value = getattr(settings, name, DEFAULTS[name])
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            found.append(f"{name} = {value!r}: must be an integer in [{low}, {high}]")
    return found


def current() -> SecurityConfig:
    def read(name: str) -> int:
        return int(getattr(settings, name, DEFAULTS[name]))

    return SecurityConfig(
        lockout_failures=read("CRYODERM_LOCKOUT_FAILURES"),
        lockout_window_s=read("CRYODERM_LOCKOUT_WINDOW_S"),
        lockout_duration_s=read("CRYODERM_LOCKOUT_DURATION_S"),
        idle_logout_minutes=read("CRYODERM_IDLE_LOGOUT_MINUTES"),
    )
