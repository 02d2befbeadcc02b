"""The clinic's own policy settings (one row), edited by the medical director."""

from __future__ import annotations

from django.db import models

from cryoderm.clinical.policy import DEFAULT_POLICY, ScreeningPolicy


class ClinicPolicy(models.Model):
    """Clinic-wide rules the gates apply. A choice of the clinic, not a clinical fact.

    ``screening_validity_days`` defaults to 30: the issue's example, following the
    "prerequisite consultation valid N days" pattern of clinic software; no
    study fixes this number, so each clinic should set its own."""

    SINGLETON_ID = 1

    clinic_name = models.CharField(max_length=200, default="cryoderm clinic")
    clinic_address = models.TextField(
        blank=True, help_text="Postal address, one line per line; printed on session reports"
    )
    screening_validity_days = models.PositiveIntegerField(
        default=30, help_text="A screening older than this many days must be repeated"
    )
    screening_policy = models.JSONField(
        default=dict,
        blank=True,
        help_text="The clinic's screening policy {name, grade_overrides, waiting_period_days}; "
        "empty: cryoderm's default (the stricter reading)",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "clinic policy"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(screening_validity_days__gte=1),
                name="screening_validity_at_least_a_day",
                violation_error_message="screening_validity_days: at least 1 day",
            )
        ]

    def screening_rules(self) -> ScreeningPolicy:
        """The screening policy to pass to ``cryoderm.clinical.screening.screen``."""
        if not self.screening_policy:
            return DEFAULT_POLICY
        return ScreeningPolicy.from_mapping(self.screening_policy)

    @classmethod
    def current(cls) -> ClinicPolicy:
        """The clinic's policy row, created with the defaults on first use."""
        policy, _ = cls.objects.get_or_create(pk=cls.SINGLETON_ID)
        return policy
