"""Consent: versioned texts per scope, and signed consents that never change afterwards."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models

from ..errors import Conflict
from .clients import Client


class ConsentScope(models.TextChoices):
    TREATMENT = "treatment", "Treatment"
    PHOTOS = "photos", "Clinical photographs"
    MARKETING = "marketing", "Use of photographs in marketing"


class ConsentText(models.Model):
    """One published version of the consent wording for a scope; never edited, superseded."""

    scope = models.CharField(max_length=12, choices=ConsentScope.choices)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField()
    sha256 = models.CharField(max_length=64, editable=False)
    published_at = models.DateTimeField()

    class Meta:
        ordering = ["scope", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["scope", "version"], name="one_text_per_version")
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"

    def save(self, *args: object, **kwargs: object) -> None:
        self.sha256 = hashlib.sha256(self.body.encode("utf-8")).hexdigest()
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class Consent(models.Model):
    """A client's signed consent to one scope, under one text version.

    Immutable once signed (records.services.consent refuses edits); withdrawal is recorded
    by setting ``withdrawn_at`` once, which is the only change a signed consent accepts."""

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="consents")
    scope = models.CharField(max_length=12, choices=ConsentScope.choices)
    text = models.ForeignKey(ConsentText, on_delete=models.PROTECT, related_name="consents")
    text_sha256 = models.CharField(max_length=64, help_text="Hash of the text the client saw")
    signer_name = models.CharField(max_length=200)
    signature = models.TextField(help_text="The drawn signature as an SVG path or data URL")
    signed_at = models.DateTimeField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    witnessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawal_reason = models.TextField(blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    entered_in_error_at = models.DateTimeField(
        null=True, blank=True, help_text="Recorded on the wrong client or by mistake: void"
    )

    #: What may change on a signed consent, once each: its withdrawal, or its voiding as
    #: entered in error (both keep everything that was signed).
    CLOSING_FIELDS = ("withdrawn_at", "withdrawal_reason", "withdrawn_by", "entered_in_error_at")

    class Meta:
        ordering = ["client", "scope", "-signed_at"]
        indexes = [models.Index(fields=["client", "scope"], name="consent_client_scope_idx")]

    def __str__(self) -> str:
        return f"{self.scope} consent of {self.client} ({self.signed_at:%Y-%m-%d})"

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None and self.entered_in_error_at is None

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            self._refuse_change_after_signing()
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise Conflict("a signed consent cannot be deleted; record its withdrawal instead")

    def _refuse_change_after_signing(self) -> None:
        stored = Consent.objects.get(pk=self.pk)
        for field in self._meta.concrete_fields:
            if field.name in self.CLOSING_FIELDS:
                continue
            if getattr(stored, field.attname) != getattr(self, field.attname):
                raise Conflict(
                    f"consent {self.pk} is signed and cannot be changed ({field.name}); "
                    "ask the client to sign a new consent instead",
                    field=field.name,
                )
        for name in self.CLOSING_FIELDS:
            before = getattr(stored, self._meta.get_field(name).attname)
            if before not in (None, "") and before != getattr(
                self, self._meta.get_field(name).attname
            ):
                raise Conflict(f"consent {self.pk}: {name} is already recorded", field=name)
