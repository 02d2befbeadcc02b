"""Screening responses with their verdict, and sign-offs of ``refer`` findings."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from cryoderm.data.labels import label

from .clients import Client


class ScreeningResponse(models.Model):
    """The client's answers and the verdict cryoderm.clinical.screening gave for them.

    The verdict is stored as given (``verdict`` = ``Verdict.to_json_dict()``), so a later
    change of the rules never rewrites what the practitioner saw."""

    class Outcome(models.TextChoices):
        # Labels: data/labels.toml [grade], the one source.
        DO_NOT_TREAT = "do-not-treat", label("grade", "do-not-treat")
        REFER = "refer", label("grade", "refer")
        PRECAUTIONS = "precautions", label("grade", "precautions")
        CLEAR = "clear", label("grade", "clear")

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="screenings")
    answers = models.JSONField()
    policy = models.CharField(max_length=200, help_text="Screening policy the verdict used")
    modality = models.CharField(
        max_length=20, blank=True, help_text="Modality screened for; empty: every modality"
    )
    outcome = models.CharField(max_length=14, choices=Outcome.choices)
    findings = models.JSONField(default=list)
    verdict = models.JSONField()
    screened_at = models.DateTimeField()
    screened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["client", "-screened_at", "-id"]
        indexes = [models.Index(fields=["client", "screened_at"], name="screening_client_idx")]

    def rule_ids(self, grade: str) -> list[str]:
        """Rule ids of the findings graded ``grade`` (e.g. ``refer``), in verdict order."""
        return [
            str(finding.get("rule_id"))
            for finding in self.findings
            if isinstance(finding, dict) and finding.get("grade") == grade
        ]


class ReferralSignOff(models.Model):
    """A documented override of one ``refer`` finding: a reason and two distinct clinicians."""

    screening = models.ForeignKey(
        ScreeningResponse, on_delete=models.PROTECT, related_name="signoffs"
    )
    rule_id = models.CharField(max_length=80, help_text="The refer finding's rule id")
    reason = models.TextField()
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    second_clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField()

    class Meta:
        ordering = ["screening", "rule_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["screening", "rule_id"], name="one_signoff_per_finding"
            ),
            models.CheckConstraint(
                condition=~models.Q(signed_by=models.F("second_clinician")),
                name="signoff_needs_two_clinicians",
                violation_error_message="second_clinician: must differ from the signing clinician",
            ),
        ]
