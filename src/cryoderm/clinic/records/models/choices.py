"""Choices shared by several record models."""

from django.db import models


class Modality(models.TextChoices):
    """Cooling modalities of the devices a clinic owns (names as in cryoderm.physics.case)."""

    COLD_AIR = "cold-air", "Cold air"
    LN2_VAPOUR = "ln2-vapour", "Liquid-nitrogen vapour"
    CONTACT = "contact", "Contact applicator"
