"""Second factor for staff: TOTP authenticator apps (pyotp) and single-use recovery codes.

Who must use one: every holder of a role in CRYODERM_MFA_REQUIRED_ROLES (by default the
administrator, the medical director and practitioners); anyone else may enrol. A user who
must but has not yet enrolled does so at their next sign-in, after their password, before
the session is opened.

- TOTP as RFC 6238 (MRaihi2011) with its defaults: HMAC-SHA1, 30 s steps, 6 digits; a code
  is accepted one step either side of now (the clock drift and entry delay allowance of its
  section 5.2), and each step once only (``TotpDevice.last_step``), so an observed code
  cannot be replayed. The 160-bit secret (RFC 4226's recommended length) is stored encrypted
  with ``mfa.key`` from the key directory (Fernet), so a copy of the database alone cannot
  make codes.
- Ten recovery codes, 80 random bits each, shown once at enrolment (or when renewed) and
  stored as SHA-256 (a fast hash suffices for a random secret of that length); each works
  once, in place of a code.

Every change (enrolment, renewal of codes, use of a recovery code, reset) is audited.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from pathlib import Path
from typing import Any

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cryoderm.clinic import audit
from cryoderm.clinic.accounts import config, permissions
from cryoderm.clinic.accounts.models import RecoveryCode, TotpDevice
from cryoderm.clinic.keys import write_secret
from cryoderm.errors import UserInputError

ISSUER = "cryoderm clinic"
#: RFC 6238 section 5.2: accept at most one time step of delay either side.
VALID_WINDOW = 1
STEP_S = 30
RECOVERY_CODES = 10
#: 16 base32 characters = 80 bits (NIST SP 800-63B, Grassi2017, 5.1.2: look-up secrets of
#: at least 64 bits when from an approved random generator).
RECOVERY_CODE_CHARS = 16
MFA_KEY = "mfa.key"
_fernets: dict[Path, Fernet] = {}
_lock = threading.Lock()


class WrongCode(UserInputError):
    """The one-time code does not match (or was already used)."""


def _fernet() -> Fernet:
    path = Path(settings.CRYODERM_KEY_DIR) / MFA_KEY
    with _lock:
        cached = _fernets.get(path)
        if cached is None:
            write_secret(path, Fernet.generate_key())
            cached = _fernets[path] = Fernet(path.read_bytes().strip())
    return cached


def required(user: Any) -> bool:
    """Whether ``user``'s roles oblige them to sign in with a second factor."""
    wanted = config.current().mfa_required_roles
    return any(role in wanted for role in permissions.roles_of(user))


def enrolled(user: Any) -> bool:
    return TotpDevice.objects.filter(user=user).exists()


def second_step_needed(user: Any) -> bool:
    """After the password: ask for a code (enrolled) or for enrolment (required)."""
    return enrolled(user) or required(user)


def new_secret() -> str:
    return pyotp.random_base32(length=32)


def provisioning_uri(user: Any, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.get_username(), issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """The provisioning URI as a QR code, an SVG data URI (allowed by the page's CSP)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


def _normalise(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _digest(code: str) -> str:
    return hashlib.sha256(_normalise(code).encode()).hexdigest()


def _new_codes(user: Any) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()[:RECOVERY_CODE_CHARS]
        codes.append("-".join(raw[i : i + 4] for i in range(0, RECOVERY_CODE_CHARS, 4)))
    RecoveryCode.objects.bulk_create(
        [RecoveryCode(user=user, code_sha256=_digest(code)) for code in codes]
    )
    return codes


def _secret_of(device: TotpDevice) -> str:
    try:
        return _fernet().decrypt(device.secret_encrypted.encode()).decode()
    except InvalidToken as error:
        raise RuntimeError(
            "the authenticator secret cannot be decrypted: the key directory's mfa.key is not "
            "the one it was stored with"
        ) from error


def _matching_step(secret: str, code: str, after_step: int) -> int | None:
    code = _normalise(code)
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now_step = int(time.time()) // STEP_S
    for step in range(now_step - VALID_WINDOW, now_step + VALID_WINDOW + 1):
        if step > after_step and secrets.compare_digest(totp.at(step * STEP_S), code):
            return step
    return None


@transaction.atomic
def enrol(user: Any, secret: str, code: str) -> list[str]:
    """Confirm enrolment with a code from the app set up with ``secret``; returns the
    recovery codes (to show once). Replaces an earlier device."""
    step = _matching_step(secret, code, after_step=0)
    if step is None:
        raise WrongCode(
            "code: that is not the current code of the authenticator; check the phone's clock "
            "and enter the 6 digits shown now"
        )
    TotpDevice.objects.update_or_create(
        user=user,
        defaults={
            "secret_encrypted": _fernet().encrypt(secret.encode()).decode(),
            "confirmed_at": timezone.now(),
            "last_step": step,
        },
    )
    codes = _new_codes(user)
    audit.record(user, "mfa.enrol", user, {"recovery_codes": len(codes)})
    return codes


def enrol_with_secret(user: Any, secret: str, *, actor: object) -> None:
    """Enrol ``user`` with a secret known in advance (the demo clinic, whose staff's secret
    is printed beside their password); no recovery codes."""
    with transaction.atomic():
        TotpDevice.objects.update_or_create(
            user=user,
            defaults={
                "secret_encrypted": _fernet().encrypt(secret.encode()).decode(),
                "confirmed_at": timezone.now(),
                "last_step": 0,
            },
        )
        audit.record(actor, "mfa.enrol", user, {"known_secret": True})


def verify_totp(user: Any, code: str) -> bool:
    """A current code of ``user``'s authenticator, not used before (then it is used up)."""
    device = TotpDevice.objects.filter(user=user).first()
    if device is None:
        return False
    step = _matching_step(_secret_of(device), code, device.last_step)
    if step is None:
        return False
    # Only one request can move last_step past this step: a replayed code loses the race.
    return TotpDevice.objects.filter(pk=device.pk, last_step__lt=step).update(last_step=step) == 1


def verify(user: Any, code: str) -> str | None:
    """The factor ``code`` proves ("totp" or "recovery-code"), used up; None if neither."""
    if verify_totp(user, code):
        return "totp"
    with transaction.atomic():
        used = RecoveryCode.objects.filter(
            user=user, code_sha256=_digest(code), used_at__isnull=True
        ).update(used_at=timezone.now())
        if used != 1:
            return None
        left = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
        audit.record(user, "mfa.recovery_code_used", user, {"left": left})
    return "recovery-code"


def recovery_codes_left(user: Any) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


@transaction.atomic
def renew_recovery_codes(user: Any, code: str) -> list[str]:
    """New recovery codes (the old ones stop working), confirmed with a current code."""
    if not verify_totp(user, code):
        raise WrongCode("code: that is not a current code of your authenticator")
    codes = _new_codes(user)
    audit.record(user, "mfa.recovery_codes_renewed", user, {"recovery_codes": len(codes)})
    return codes


@transaction.atomic
def reset(user: Any, *, actor: object) -> bool:
    """Remove ``user``'s authenticator and recovery codes (a lost phone); they enrol again at
    their next sign-in. Returns whether there was anything to remove."""
    removed = TotpDevice.objects.filter(user=user).delete()[0]
    removed += RecoveryCode.objects.filter(user=user).delete()[0]
    audit.record(actor, "mfa.reset", user, {"removed": removed})
    return removed > 0
