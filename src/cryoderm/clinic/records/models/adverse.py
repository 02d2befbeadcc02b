"""Adverse events, graded for cold injury."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .clients import Client
from .sessions import TreatmentSession


class AdverseEvent(models.Model):
    """An adverse event after or during a treatment.

    ``cold_injury_grade``: frostnip (reversible, no tissue loss) or the four degrees of the
    classic clinical frostbite classification by depth (1st superficial erythema/oedema, 2nd
    clear blisters, 3rd haemorrhagic blisters, 4th full-thickness), as summarised in the
    Wilderness Medical Society frostbite guideline (McIntosh et al., Wilderness Environ Med
    2019;30(4S):S19-S32). "none" for events that are not cold injuries."""

    class ColdInjuryGrade(models.TextChoices):
        NONE = "none", "Not a cold injury"
        FROSTNIP = "frostnip", "Frostnip (no tissue loss)"
        FIRST = "1", "1st degree: superficial, erythema and oedema"
        SECOND = "2", "2nd degree: clear blisters"
        THIRD = "3", "3rd degree: haemorrhagic blisters"
        FOURTH = "4", "4th degree: full thickness"

    class Seriousness(models.TextChoices):
        NON_SERIOUS = "non-serious", "Non-serious"
        SERIOUS = "serious", "Serious"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="adverse_events")
    session = models.ForeignKey(
        TreatmentSession,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="adverse_events",
    )
    occurred_at = models.DateTimeField()
    zone = models.CharField(max_length=40, blank=True)
    description = models.TextField()
    cold_injury_grade = models.CharField(max_length=10, choices=ColdInjuryGrade.choices)
    seriousness = models.CharField(max_length=12, choices=Seriousness.choices)
    action_taken = models.TextField(blank=True)
    resolved_on = models.DateField(null=True, blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "id"]
