"""The PDF session report: who, what, the plan per zone, the measured skin temperature against
the planned curve and the floor, alarms and events. Text in Latin-1 core fonts (fpdf2)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from fpdf import FPDF

from cryoderm.clinic.records.models import SkinReading, TreatmentSession
from cryoderm.clinic.records.services import planning


def _latin1(text: object) -> str:
    return (
        str(text).replace("–", "-").replace("—", "-").encode("latin-1", "replace").decode("latin-1")
    )


def _plot(
    pdf: FPDF,
    planned: Sequence[tuple[float, float]],
    measured: Sequence[tuple[float, float]],
    floor_c: float | None,
    band: Sequence[float] | None,
) -> None:
    """Temperature (C) against time (s): planned dashed grey, measured red, floor line."""
    x0, y0, w, h = pdf.l_margin + 12, pdf.get_y() + 2, 160.0, 55.0
    temps = [t for _, t in [*planned, *measured]] + ([floor_c] if floor_c is not None else [])
    times = [s for s, _ in [*planned, *measured]] or [0.0, 1.0]
    t_lo, t_hi = min(temps, default=0.0) - 1, max(temps, default=35.0) + 1
    s_hi = max(times) or 1.0

    def xy(s: float, t: float) -> tuple[float, float]:
        return (x0 + s / s_hi * w, y0 + h - (t - t_lo) / (t_hi - t_lo) * h)

    pdf.set_draw_color(120, 120, 120)
    pdf.rect(x0, y0, w, h)
    pdf.set_font("Helvetica", size=7)
    for frac in (0.0, 0.5, 1.0):
        t = t_lo + frac * (t_hi - t_lo)
        pdf.text(x0 - 11, y0 + h - frac * h + 1, f"{t:.0f} C")
        pdf.text(x0 + frac * w - 3, y0 + h + 4, f"{frac * s_hi:.0f} s")
    if band:
        top, bottom = xy(0, band[1])[1], xy(0, band[0])[1]
        pdf.set_fill_color(223, 243, 228)
        pdf.rect(x0, top, w, bottom - top, style="F")
    if floor_c is not None:
        pdf.set_draw_color(164, 22, 26)
        pdf.line(x0, xy(0, floor_c)[1], x0 + w, xy(0, floor_c)[1])
    if len(planned) > 1:
        pdf.set_draw_color(11, 92, 173)
        pdf.polyline([xy(s, t) for s, t in planned])
    if len(measured) > 1:
        pdf.set_draw_color(164, 22, 26)
        pdf.polyline([xy(s, t) for s, t in measured])
    pdf.set_draw_color(0, 0, 0)
    pdf.set_y(y0 + h + 7)
    pdf.set_font("Helvetica", size=8)
    pdf.cell(
        0,
        4,
        "Blue: planned surface (engine). Red: measured skin. Red line: floor. Green: target band.",
        new_x="LMARGIN",
        new_y="NEXT",
    )


def session_report(session: TreatmentSession) -> bytes:
    """The report of one session as PDF bytes."""
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_title(f"cryoderm session {session.pk}")

    def line(text: object, size: int = 10, style: str = "") -> None:
        pdf.set_font("Helvetica", style=style, size=size)
        pdf.multi_cell(0, size * 0.5, _latin1(text), new_x="LMARGIN", new_y="NEXT")

    line(f"Treatment session report - {session.client.full_name}", 15, "B")
    line(
        f"Session {session.pk} · {session.get_status_display()} · {session.practitioner} · {session.device} "
        f"· started {session.started_at:%Y-%m-%d %H:%M:%S %Z}"
        if session.started_at
        else f"Session {session.pk} (not started)"
    )
    if session.ended_at:
        line(
            f"Ended {session.ended_at:%H:%M:%S}; cold exposure {session.exposure_s:.0f} s; {session.end_reason}"
        )
    readings: dict[str, list[tuple[float, float]]] = {}
    for zone, elapsed, temp in (
        SkinReading.objects.filter(session=session)
        .order_by("zone", "elapsed_s")
        .values_list("zone", "elapsed_s", "skin_temp_c")
    ):
        readings.setdefault(zone, []).append((elapsed, temp))
    plan = planning.stored_plan(session)
    for step in plan.steps if plan is not None else ():
        zone = step.zone
        measured = readings.get(zone, [])
        pdf.ln(2)
        line(f"Zone: {zone}", 12, "B")
        line(
            f"{step.delivery.describe()} for {step.duration_s:.0f} s; target band "
            f"{step.band_c[0]:.1f}-{step.band_c[1]:.1f} C; floor {step.floor_temp_c:.1f} C"
        )
        if measured:
            line(
                f"{len(measured)} readings; coldest measured {min(t for _, t in measured):.1f} C; "
                f"last reading at {measured[-1][0]:.1f} s"
            )
        prediction = step.prediction
        planned = [
            (s, t)
            for s, t in zip(prediction.time_s, prediction.surface_c, strict=False)
            if math.isfinite(t)
        ]
        _plot(pdf, planned, measured, step.floor_temp_c, list(step.band_c))
        for goal, words in step.evidence.items():
            line(f"{goal}: {words}", 8)
    alarms = list(session.alarms.select_related("acknowledged_by"))
    if alarms:
        pdf.ln(2)
        line("Alarms", 12, "B")
        for a in alarms:
            ack = (
                f"acknowledged by {a.acknowledged_by} at {a.acknowledged_at:%H:%M:%S}"
                if a.acknowledged_at
                else "not acknowledged"
            )
            line(
                f"{a.raised_at:%H:%M:%S} {a.zone} [{a.get_severity_display()}] {a.code}: {a.message} ({ack})",
                9,
            )
    events = list(session.events.all())
    if events:
        pdf.ln(2)
        line("Events", 12, "B")
        for e in events:
            line(f"{e.occurred_at:%H:%M:%S} {e.get_kind_display()}: {e.message}", 9)
    return bytes(pdf.output())
