"""Outcomes: scores, instrumental measures with units, photographs."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .clients import Client
from .consent import Consent
from .sessions import TreatmentSession


class OutcomeScore(models.Model):
    """A score on a named scale, by a clinician or reported by the client.

    The scale's bounds are stored with the score so that a score is always read against the
    scale it was given on; the service refuses scores outside them."""

    class Rater(models.TextChoices):
        CLINICIAN = "clinician", "Clinician"
        CLIENT = "client", "Client-reported"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="scores")
    session = models.ForeignKey(
        TreatmentSession, on_delete=models.PROTECT, null=True, blank=True, related_name="scores"
    )
    assessed_at = models.DateTimeField()
    rater = models.CharField(max_length=10, choices=Rater.choices)
    scale = models.CharField(max_length=80, help_text="e.g. GAIS, satisfaction 0-10")
    scale_min = models.FloatField()
    scale_max = models.FloatField()
    score = models.FloatField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["client", "-assessed_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(score__gte=models.F("scale_min"))
                & models.Q(score__lte=models.F("scale_max")),
                name="score_within_scale",
                violation_error_message="score: must lie within scale_min and scale_max",
            )
        ]


class InstrumentalMeasure(models.Model):
    """A skin measurement by an instrument, with its unit (one allowed unit per quantity and
    its defined range: data/outcomes.toml, read by records.services.outcomes)."""

    class Quantity(models.TextChoices):
        ERYTHEMA_INDEX = "erythema-index", "Erythema index"
        ELASTICITY = "elasticity", "Elasticity (R2, gross elasticity)"
        HYDRATION = "hydration", "Stratum corneum hydration"
        TEWL = "tewl", "Transepidermal water loss"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="measures")
    session = models.ForeignKey(
        TreatmentSession,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="measures",
    )
    measured_at = models.DateTimeField()
    zone = models.CharField(max_length=40)
    quantity = models.CharField(max_length=20, choices=Quantity.choices)
    value = models.FloatField()
    unit = models.CharField(max_length=10)
    instrument = models.CharField(max_length=120, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["client", "-measured_at", "id"]


class Photo(models.Model):
    """A clinical photograph: a view, a phase, and the consent under which it may be used."""

    class View(models.TextChoices):
        FRONT = "front", "Front"
        LEFT_45 = "left-45", "Left oblique 45°"
        RIGHT_45 = "right-45", "Right oblique 45°"
        LEFT_90 = "left-90", "Left profile"
        RIGHT_90 = "right-90", "Right profile"

    class Phase(models.TextChoices):
        BEFORE = "before", "Before"
        AFTER = "after", "After"
        FOLLOW_UP = "follow-up", "Follow-up"

    class Use(models.TextChoices):
        CLINICAL = "clinical", "Clinical record only"
        MARKETING = "marketing", "Clinical record and marketing"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="photos")
    session = models.ForeignKey(
        TreatmentSession, on_delete=models.PROTECT, null=True, blank=True, related_name="photos"
    )
    taken_at = models.DateTimeField()
    view = models.CharField(max_length=10, choices=View.choices)
    phase = models.CharField(max_length=10, choices=Phase.choices)
    use = models.CharField(max_length=10, choices=Use.choices, default=Use.CLINICAL)
    consent = models.ForeignKey(Consent, on_delete=models.PROTECT, related_name="photos")
    image = models.FileField(upload_to="photos/%Y/%m/")
    sha256 = models.CharField(max_length=64)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["client", "-taken_at", "id"]
