"""Security records: failed logins (for the lockout) and device/API tokens (hashed at rest)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class LoginFailure(models.Model):
    """One failed login attempt; the lockout counts these per username over a window."""

    username = models.CharField(max_length=150, db_index=True, help_text="as typed, lower-cased")
    at = models.DateTimeField(db_index=True)
    remote_addr = models.CharField(max_length=64, blank=True)

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
