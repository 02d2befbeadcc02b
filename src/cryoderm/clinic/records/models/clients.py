"""Clients of the clinic."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Client(models.Model):
    """A person who is screened and treated. Archived clients are kept, never deleted."""

    class Sex(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"
        OTHER = "other", "Other"
        UNKNOWN = "unknown", "Unknown"

    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    # Fitzpatrick skin phototype I-VI (Fitzpatrick 1988, Arch Dermatol 124:869); unknown allowed.
    fitzpatrick_type = models.PositiveSmallIntegerField(
        null=True, blank=True, choices=[(n, f"Type {n}") for n in range(1, 7)]
    )
    notes = models.TextField(blank=True)
    is_archived = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["family_name", "given_name", "id"]
        # Serves the client search (by family name, then given name).
        indexes = [models.Index(fields=["family_name", "given_name"], name="client_name_idx")]

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


class Correction(models.Model):
    """One audited edit of a record: which fields changed, from what to what, why, and by
    whom. The earlier values stay readable here (a record's history), whatever the record
    holds now; corrections are added, never changed (records.services.corrections)."""

    target = models.CharField(max_length=60, help_text="<app>.<model> of the record")
    target_id = models.BigIntegerField()
    changes = models.JSONField(help_text='{"field": {"from": earlier, "to": new}}')
    reason = models.TextField()
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    corrected_by_label = models.CharField(max_length=150, help_text="who, as the audit log names")
    corrected_at = models.DateTimeField()

    class Meta:
        ordering = ["target", "target_id", "corrected_at", "id"]
        indexes = [models.Index(fields=["target", "target_id"], name="correction_target_idx")]

    def __str__(self) -> str:
        return f"correction of {self.target}:{self.target_id} at {self.corrected_at:%Y-%m-%d %H:%M}"
