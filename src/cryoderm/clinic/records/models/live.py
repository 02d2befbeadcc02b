"""The live treatment of each zone, and how far the clinic has read the interlock's journal.

The interlock's journal is the truth about the cold (cryoderm.interlock); these records
mirror it for the session record and reports, and hold what only the clinic knows: the
practitioner's reasons for resuming a stopped zone or moving on from it."""

from __future__ import annotations

from django.db import models

from .sessions import TreatmentSession


class SessionZone(models.Model):
    """One planned zone of a treatment session, as the interlock guarded it.

    ``pending`` until the practitioner starts it; ``starting`` while the interlock plans and
    starts it; ``running`` / ``paused``; ``stopped`` by a rule or the practitioner (the cold
    is off; the zone may be resumed with a reason, or ended); ``completed`` when its planned
    cold was delivered (plan end or exposure limit); ``ended`` when closed before that, with
    the reason."""

    class Status(models.TextChoices):
        PENDING = "pending", "Not started"
        STARTING = "starting", "Starting"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused: cold off"
        STOPPED = "stopped", "Stopped: cold off"
        COMPLETED = "completed", "Completed"
        ENDED = "ended", "Ended early"

    OPEN = (Status.PENDING, Status.STARTING, Status.RUNNING, Status.PAUSED, Status.STOPPED)
    COLD_ON = (Status.STARTING, Status.RUNNING, Status.PAUSED)

    session = models.ForeignKey(
        TreatmentSession, on_delete=models.PROTECT, related_name="zone_runs"
    )
    zone = models.CharField(max_length=40)
    position = models.PositiveSmallIntegerField(help_text="Order of the zone in the plan")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    stop_reason = models.CharField(
        max_length=40, blank=True, help_text="The interlock's reason for its last stop"
    )
    exposure_s = models.FloatField(default=0.0, help_text="Cold exposure delivered [s]")
    reason = models.TextField(
        blank=True, help_text="The practitioner's reason for the last resume or early end"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["session", "position"]
        constraints = [
            models.UniqueConstraint(fields=["session", "zone"], name="one_run_per_session_zone")
        ]

    def __str__(self) -> str:
        return f"{self.zone} of session {self.session_id} ({self.status})"


class JournalCursor(models.Model):
    """The last journal entry forwarded into the records, per journal directory."""

    journal = models.CharField(max_length=500, unique=True)
    seq = models.BigIntegerField(default=0)
