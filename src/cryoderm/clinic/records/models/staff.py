"""Practitioners and the qualifications (per modality) that expire."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models

from .choices import Modality


class Practitioner(models.Model):
    """A member of staff who treats clients; linked to one login."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="practitioner"
    )
    display_name = models.CharField(max_length=150)
    registration_number = models.CharField(max_length=60, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["display_name", "id"]

    def __str__(self) -> str:
        return self.display_name

    def qualification_for(self, modality: str, on: dt.date) -> Qualification | None:
        """The qualification for ``modality`` valid on ``on`` (latest expiry first), if any."""
        return (
            self.qualifications.filter(
                modality=modality, issued_on__lte=on, expires_on__gte=on, revoked_at__isnull=True
            )
            .order_by("-expires_on")
            .first()
        )


class Qualification(models.Model):
    """A certificate entitling a practitioner to use one modality from issue to expiry."""

    practitioner = models.ForeignKey(
        Practitioner, on_delete=models.CASCADE, related_name="qualifications"
    )
    modality = models.CharField(max_length=20, choices=Modality.choices)
    title = models.CharField(max_length=200)
    issuer = models.CharField(max_length=200)
    certificate_number = models.CharField(max_length=100, blank=True)
    issued_on = models.DateField()
    expires_on = models.DateField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["practitioner", "modality", "-expires_on"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_on__gt=models.F("issued_on")),
                name="qualification_expires_after_issue",
                violation_error_message="expires_on: must be after issued_on",
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.modality}, until {self.expires_on})"

    def is_valid_on(self, day: dt.date) -> bool:
        return self.revoked_at is None and self.issued_on <= day <= self.expires_on
