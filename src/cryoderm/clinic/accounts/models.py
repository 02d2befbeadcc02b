"""Security records: failed sign-ins (for the throttle), second factors (TOTP devices and
recovery codes) and device/API tokens. Every secret is stored hashed or encrypted."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class LoginFailure(models.Model):
    """One failed sign-in attempt (a wrong password or second factor). The throttle counts
    these per address and username, per address, and per known browser over a window."""

    username = models.CharField(max_length=150, db_index=True, help_text="as typed, lower-cased")
    at = models.DateTimeField(db_index=True)
    remote_addr = models.CharField(max_length=64, blank=True, db_index=True)
    known_device = models.CharField(
        max_length=32,
        blank=True,
        db_index=True,
        help_text="the known-browser id the attempt carried for this username, or empty",
    )

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"failed login for {self.username} at {self.at:%Y-%m-%d %H:%M:%S}"


class ApiToken(models.Model):
    """A bearer token for the JSON API, stored as a SHA-256 hash of its secret.

    A *device token* (``device`` set) authenticates a device: it may ingest readings for that
    device's sessions and nothing else, whoever issued it. A *user token* (``device`` empty)
    acts as ``user`` with exactly that user's roles. The plaintext is shown once, at issue."""

    name = models.CharField(max_length=100, help_text="what the token is for, e.g. 'chiller 2'")
    prefix = models.CharField(max_length=16, unique=True, help_text="public part, for lookup")
    secret_sha256 = models.CharField(max_length=64)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="api_tokens",
        help_text="acts as this user (user token) or issued it (device token)",
    )
    device = models.ForeignKey(
        "records.Device",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="api_tokens",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(help_text="the token is refused from this moment on")
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        scope = f"device {self.device_id}" if self.device_id else f"user {self.user_id}"
        return f"{self.name} ({self.prefix}, {scope})"

    @property
    def is_device_token(self) -> bool:
        return self.device_id is not None


class TotpDevice(models.Model):
    """A user's authenticator app (RFC 6238 TOTP). The shared secret is stored encrypted with
    a key from the key directory; ``last_step`` is the newest time step accepted, so a code
    is accepted once only (RFC 6238 section 5.2)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="totp_device"
    )
    secret_encrypted = models.TextField(help_text="the base32 secret, Fernet-encrypted")
    confirmed_at = models.DateTimeField(help_text="when the user proved the app works")
    last_step = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"authenticator of user {self.user_id}"


class RecoveryCode(models.Model):
    """A single-use recovery code, stored as the SHA-256 of its 80 random bits (shown once)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes"
    )
    code_sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "code_sha256"], name="recovery_code_lookup")]
