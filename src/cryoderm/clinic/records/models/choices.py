"""Choices shared by several record models."""

from django.db import models

from cryoderm.data.labels import label


class Modality(models.TextChoices):
    """Cooling modalities of the devices a clinic owns (names as in cryoderm.physics.case;
    labels from data/protocols.toml, the one source, so a label change there needs a migration)."""

    COLD_AIR = "cold-air", label("modality", "cold-air")
    LN2_VAPOUR = "ln2-vapour", label("modality", "ln2-vapour")
    CONTACT = "contact", label("modality", "contact")
