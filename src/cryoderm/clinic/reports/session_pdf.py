"""The PDF session report, complete for the client's file: the clinic, the client's identity,
the session (zones, modality, device, practitioner, times), the screening verdict and who
signed off each refer finding, the consents (withdrawn ones shown as withdrawn), per zone
the technique, the readings and why the cold stopped with the measured skin temperature
drawn over the plan, the alarms and events, the evidence for the goals, the precautions
and the aftercare, and a signature line.

Everything is written as the practitioner reads it (labels, signed °C, sources as "Author
Year"); a missing value is left out or said in words, never "None"; what every zone shares
(evidence, aftercare, the chart's key) is written once. Text in Latin-1 core fonts (fpdf2):
the minus sign prints as a hyphen, typographic quotes as straight ones.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence

from django.utils import timezone
from fpdf import FPDF

from cryoderm.clinic.records.models import (
    ClinicPolicy,
    Consent,
    ScreeningResponse,
    SessionEvent,
    SkinReading,
    TreatmentSession,
)
from cryoderm.clinic.records.services import planning
from cryoderm.clinic.reports.wording import alarm_message
from cryoderm.clinical.planner import PlanStep
from cryoderm.clinical.screening import Verdict
from cryoderm.data.citations import cite
from cryoderm.data.labels import celsius, celsius_range, label, label_list

_LATIN1 = str.maketrans(
    {"\u2212": "-", "–": "-", "—": "-", "“": '"', "”": '"', "’": "'", "…": "..."}
)


def _latin1(text: object) -> str:
    return str(text).translate(_LATIN1).encode("latin-1", "replace").decode("latin-1")


def _when(moment: dt.datetime | None) -> str:
    """A date and time: ``8 Nov 2026 10:05``."""
    if moment is None:
        return ""
    local = timezone.localtime(moment)
    return f"{local.day} {local:%b %Y %H:%M}"


def _time(moment: dt.datetime) -> str:
    return f"{timezone.localtime(moment):%H:%M:%S}"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


def _person(user: object) -> str:
    if user is None:
        return ""
    full = getattr(user, "get_full_name", lambda: "")()
    return full or str(user)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(item for item in items if item))


class _Writer:
    """Headings, paragraphs and bullets on A4 pages."""

    def __init__(self, title: str) -> None:
        self.pdf = FPDF(format="A4")
        self.pdf.set_auto_page_break(auto=True, margin=15)
        self.pdf.set_title(title)
        self.pdf.add_page()

    def text(self, text: object, size: float = 10, style: str = "", indent: float = 0) -> None:
        pdf = self.pdf
        pdf.set_font("Helvetica", style=style, size=size)
        pdf.set_x(pdf.l_margin + indent)
        pdf.multi_cell(0, size * 0.5, _latin1(text), new_x="LMARGIN", new_y="NEXT")

    def heading(self, text: str, size: float = 12) -> None:
        self.pdf.ln(3)
        self.text(text, size, "B")
        self.pdf.ln(1)

    def bullets(self, lines: Iterable[str], size: float = 9) -> None:
        for line in lines:
            self.text(f"- {line}", size, indent=3)

    def bullets_or(self, lines: Sequence[str], empty: str) -> None:
        """The lines as bullets, or ``empty`` in words when there are none."""
        if lines:
            self.bullets(lines)
        else:
            self.text(empty)

    def field(self, name: str, value: str) -> None:
        if value:
            self.text(f"{name}: {value}")


def _clinic(w: _Writer) -> None:
    policy = ClinicPolicy.current()
    w.text(policy.clinic_name, 11, "B")
    address = [line.strip() for line in policy.clinic_address.splitlines() if line.strip()]
    if address:
        w.text(", ".join(address), 9)


def _identity(w: _Writer, session: TreatmentSession) -> None:
    client = session.client
    w.heading("Treatment session report", 15)
    w.field(
        "Client",
        f"{client.full_name}, born {client.date_of_birth.day} "
        f"{client.date_of_birth:%b %Y}, client no. {client.pk}",
    )
    practitioner = session.practitioner
    registration = practitioner.registration_number
    w.field(
        "Practitioner",
        practitioner.display_name + (f", registration {registration}" if registration else ""),
    )
    device = session.device
    w.field(
        "Device",
        f"{device.manufacturer} {device.model_name}, serial {device.serial_number} "
        f"({label('modality', device.modality)})",
    )
    w.field("Zones", label_list("zone", session.zones))
    times = session.get_status_display()
    if session.started_at:
        times += f"; started {_when(session.started_at)}"
    if session.ended_at:
        times += f", ended {_time(session.ended_at)}"
        times += f"; cold exposure {_duration(session.exposure_s)}"
    w.field(f"Session {session.pk}", times)
    if session.end_reason:
        w.field("Why it ended", session.end_reason)


def _screening(w: _Writer, screening: ScreeningResponse | None) -> None:
    w.heading("Screening")
    if screening is None:
        w.text("No screening is recorded for this session.")
        return
    verdict = Verdict.from_json_dict(screening.verdict)
    scope = label("modality", verdict.modality) if verdict.modality else "any modality"
    w.field(
        "Verdict",
        f"{label('grade', screening.outcome)}, screened {_when(screening.screened_at)} by "
        f"{_person(screening.screened_by)}, for {scope}",
    )
    signoffs = {
        s.rule_id: s for s in screening.signoffs.select_related("signed_by", "second_clinician")
    }
    lines = []
    for f in verdict.findings:
        line = f"{label('grade', f.grade)}: {f.condition} ({f.triggered_by}; {cite(f.reason)})"
        signed = signoffs.get(f.rule_id)
        if signed is not None:
            line += (
                f". Signed off by {_person(signed.signed_by)} and, as second clinician, "
                f"{_person(signed.second_clinician)} on {_when(signed.signed_at)}: "
                f'"{signed.reason}"'
            )
        elif f.grade == "refer":
            line += ". Not signed off"
        lines.append(line)
    w.bullets_or(lines, "No contraindication or precaution was found.")


def _consent_state(consent: Consent) -> str:
    if consent.entered_in_error_at:
        return f"void, entered in error (recorded {_when(consent.entered_in_error_at)})"
    if consent.withdrawn_at:
        by = f" by {_person(consent.withdrawn_by)}" if consent.withdrawn_by else ""
        why = f': "{consent.withdrawal_reason}"' if consent.withdrawal_reason else ""
        return f"withdrawn on {_when(consent.withdrawn_at)}{by}{why}"
    return "in force"


def _consents(w: _Writer, session: TreatmentSession) -> None:
    w.heading("Consents")
    consents = Consent.objects.filter(client_id=session.client_id).select_related(
        "text", "witnessed_by", "withdrawn_by"
    )
    lines = []
    for c in consents.order_by("signed_at", "id"):
        state = _consent_state(c)
        relied = "; the consent this session relied on" if c.pk == session.consent_id else ""
        lines.append(
            f"{c.get_scope_display()}: {c.text.title} (version {c.text.version}), signed by "
            f"{c.signer_name} on {_when(c.signed_at)}, witnessed by {_person(c.witnessed_by)}; "
            f"{state}{relied}"
        )
    w.bullets_or(lines, "The client has signed no consent.")


def _stops(session: TreatmentSession) -> dict[str, str]:
    """Why the cold stopped on each zone, from the interlock's stop events."""
    stops: dict[str, str] = {}
    for event in session.events.filter(kind=SessionEvent.Kind.STOPPED).order_by("occurred_at"):
        data = event.data if isinstance(event.data, dict) else {}
        if data.get("zone") and data.get("reason"):
            stops[str(data["zone"])] = label("stop-reason", data["reason"])
    return stops


def _limits(step: PlanStep) -> str:
    return (
        f"target band {celsius_range(*step.band_c)}, floor "
        f"{celsius(step.floor_temp_c, signed=True)}"
    )


def _readings(readings: Sequence[tuple[float, float]]) -> str:
    if not readings:
        return "no skin readings recorded"
    coldest = min(readings, key=lambda r: r[1])
    return (
        f"{len(readings)} skin readings from {readings[0][0]:.0f} s to {readings[-1][0]:.0f} s; "
        f"coldest {celsius(coldest[1], signed=True)} at {coldest[0]:.0f} s"
    )


def _zones(w: _Writer, session: TreatmentSession, steps: Sequence[PlanStep]) -> None:
    w.heading("The treatment, zone by zone")
    readings: dict[str, list[tuple[float, float]]] = {}
    rows = SkinReading.objects.filter(session=session).order_by("zone", "elapsed_s")
    for zone, elapsed, temp in rows.values_list("zone", "elapsed_s", "skin_temp_c"):
        readings.setdefault(zone, []).append((elapsed, temp))
    stops = _stops(session)
    if not steps:
        w.text("The session has no readable plan.")
    limits = {_limits(step) for step in steps}
    shared = len(limits) == 1
    if shared:
        w.text(f"Every zone: {limits.pop()}.", 9)
    for index, step in enumerate(steps):
        measured = readings.get(step.zone, [])
        w.text(label("zone", step.zone), 11, "B")
        if step.status != "planned":
            w.text("No safe protocol was found for this zone.", 9)
        delivery = step.delivery.describe()
        technique = (
            f"{delivery[:1].upper()}{delivery[1:]} (at most {_duration(step.max_exposure_s)} "
            "on this zone)"
        )
        w.text(f"{technique}." if shared else f"{technique}; {_limits(step)}.", 9)
        stopped = f" Cold stopped: {stops[step.zone]}." if step.zone in stops else ""
        w.text(f"Measured: {_readings(measured)}.{stopped}", 9)
        prediction = step.prediction
        planned = [
            (s, t)
            for s, t in zip(prediction.time_s, prediction.surface_c, strict=False)
            if math.isfinite(t)
        ]
        _plot(w.pdf, planned, measured, step.floor_temp_c, step.band_c, key=index == 0)


def _plot(
    pdf: FPDF,
    planned: Sequence[tuple[float, float]],
    measured: Sequence[tuple[float, float]],
    floor_c: float,
    band: Sequence[float],
    *,
    key: bool,
) -> None:
    """Skin temperature (°C) against time (s): planned blue, measured red, floor red line,
    target band green; the key under the first chart only."""
    if pdf.will_page_break(75):
        pdf.add_page()
    x0, y0, w, h = pdf.l_margin + 14, pdf.get_y() + 2, 150.0, 50.0
    temps = [t for _, t in [*planned, *measured]] + [floor_c, *band]
    times = [s for s, _ in [*planned, *measured]]
    t_lo, t_hi = min(temps) - 1, max(temps) + 1
    s_hi = max(times, default=0.0) or 1.0

    def xy(s: float, t: float) -> tuple[float, float]:
        return (x0 + s / s_hi * w, y0 + h - (t - t_lo) / (t_hi - t_lo) * h)

    pdf.set_fill_color(223, 243, 228)
    top, bottom = xy(0, band[1])[1], xy(0, band[0])[1]
    pdf.rect(x0, top, w, bottom - top, style="F")
    pdf.set_draw_color(120, 120, 120)
    pdf.rect(x0, y0, w, h)
    pdf.set_font("Helvetica", size=7)
    for frac in (0.0, 0.5, 1.0):
        t = t_lo + frac * (t_hi - t_lo)
        pdf.text(x0 - 13, y0 + h - frac * h + 1, _latin1(celsius(t, 0)))
        pdf.text(x0 + frac * w - 3, y0 + h + 4, f"{frac * s_hi:.0f} s")
    pdf.set_draw_color(164, 22, 26)
    pdf.line(x0, xy(0, floor_c)[1], x0 + w, xy(0, floor_c)[1])
    if len(planned) > 1:
        pdf.set_draw_color(11, 92, 173)
        pdf.polyline([xy(s, t) for s, t in planned])
    pdf.set_draw_color(164, 22, 26)
    if len(measured) > 1:
        pdf.polyline([xy(s, t) for s, t in measured])
    elif measured:
        cx, cy = xy(*measured[0])
        pdf.set_fill_color(164, 22, 26)
        pdf.circle(cx, cy, 1.2, style="F")
    pdf.set_draw_color(0, 0, 0)
    pdf.set_y(y0 + h + 6)
    if key:
        pdf.set_font("Helvetica", size=8)
        pdf.cell(
            0,
            4,
            "Key to the charts: blue, the planned skin surface (simulated); red, the measured "
            "skin; red line, the floor; green, the target band.",
            new_x="LMARGIN",
            new_y="NEXT",
        )
    pdf.ln(2)


def _alarms_and_events(w: _Writer, session: TreatmentSession) -> None:
    alarms = list(session.alarms.select_related("acknowledged_by"))
    w.heading("Alarms")
    lines = []
    for a in alarms:
        where = f"{label('zone', a.zone)}: " if a.zone else ""
        line = f"{_time(a.raised_at)} {where}{label('alarm', a.code)} ({a.get_severity_display()})"
        message = alarm_message(a.message)
        if message:
            line += f"; {message}"
        if a.value_c is not None:
            line += f"; skin {celsius(a.value_c, signed=True)}"
        if a.limit_c is not None:
            line += f", limit {celsius(a.limit_c, signed=True)}"
        if a.acknowledged_at:
            line += f"; acknowledged by {_person(a.acknowledged_by)} at {_time(a.acknowledged_at)}"
        else:
            line += "; not acknowledged"
        lines.append(line)
    w.bullets_or(lines, "No alarm was raised.")
    events = list(session.events.select_related("actor"))
    if events:
        w.heading("Events")
        w.bullets(
            f"{_time(e.occurred_at)} {e.get_kind_display()}"
            # An aborted session's event repeats its end reason, given above.
            + (f": {e.message}" if e.message and e.message != session.end_reason else "")
            + (f" ({_person(e.actor)})" if e.actor else "")
            for e in events
        )


def _advice(w: _Writer, steps: Sequence[PlanStep]) -> None:
    evidence = {goal: words for step in steps for goal, words in step.evidence.items()}
    if evidence:
        w.heading("Evidence for the goals")
        w.bullets(f"{label('goal', goal)}: {cite(words)}" for goal, words in evidence.items())
    w.heading("Aftercare")
    aftercare = _unique(a for step in steps for a in step.aftercare)
    if aftercare:
        w.bullets(cite(a) for a in aftercare)
    else:
        w.text("No aftercare instructions are recorded in the plan.")


def _signature(w: _Writer, session: TreatmentSession) -> None:
    pdf = w.pdf
    if pdf.will_page_break(30):
        pdf.add_page()
    pdf.ln(8)
    w.text("Signature of the practitioner: ______________________________    Date: ____________")
    w.text(f"{session.practitioner.display_name}", 9)


def session_report(session: TreatmentSession) -> bytes:
    """The report of one session as PDF bytes."""
    writer = _Writer(f"Treatment session report {session.pk}")
    plan = planning.stored_plan(session)
    steps = plan.steps if plan is not None else ()
    _clinic(writer)
    _identity(writer, session)
    if plan is not None and plan.goals:
        writer.field("Goals", label_list("goal", plan.goals))
    _screening(writer, session.screening or session.plan_screening)
    _consents(writer, session)
    _zones(writer, session, steps)
    _alarms_and_events(writer, session)
    _advice(writer, steps)
    _signature(writer, session)
    return bytes(writer.pdf.output())
