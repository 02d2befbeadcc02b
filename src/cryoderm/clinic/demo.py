"""A realistic demo clinic, seeded through the same services the clinic uses.

Staff ``director`` (medical director, also treats), ``practitioner`` and ``frontdesk``; a
device of each modality with its maintenance, calibration and fault history (the
liquid-nitrogen device is overdue for calibration, and the practitioner's ln2-vapour
qualification has expired, so the gates have something to say); ten clients whose
screenings cover clear, precautions, refer (signed off by two clinicians) and
do-not-treat; past sessions planned by cryoderm's planner, with skin readings, an alarm,
outcomes and one adverse event.

Everything here is demonstration data. People, devices and manufacturers are fictional.
The skin readings of past sessions are the planner's *predicted* surface temperatures
(rounded to 0.1 C), not measurements; scores and instrument values are illustrative.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from cryoderm.data.labels import label

from .accounts.permissions import FRONT_DESK, MEDICAL_DIRECTOR, PRACTITIONER, grant_role
from .records.models import Client, Device, TreatmentSession
from .records.services import (
    adverse,
    consent,
    devices,
    outcomes,
    planning,
    readings,
    scheduling,
    screening,
    staff,
)
from .records.services import clients as client_service
from .records.services import policy as clinic_policy
from .records.services import sessions as session_service

SYSTEM = "system:demo"
STAFF = (
    ("director", "Dana", "Reyes", (MEDICAL_DIRECTOR,)),
    ("practitioner", "Sam", "Okafor", (PRACTITIONER,)),
    ("frontdesk", "Robin", "Hale", (FRONT_DESK,)),
)

CONSENT_TEXTS = {
    "treatment": (
        "Consent to facial cryotherapy",
        "I have answered the health questions truthfully. The practitioner explained how the "
        "treatment cools the skin, what it can and cannot do, the usual short-lived redness "
        "and the rare risk of cold injury. I may stop the treatment at any moment.",
    ),
    "photos": (
        "Consent to clinical photographs",
        "I agree that photographs of my face are taken before and after treatment and kept "
        "in my clinical record. They are not shown outside the clinic.",
    ),
    "marketing": (
        "Consent to marketing use of photographs",
        "I agree that my before and after photographs may be used in the clinic's marketing. "
        "I may withdraw this consent at any time for future use.",
    ),
}

#: (modality, manufacturer, model, serial, calibration interval days, service interval days,
#:  days since last calibration, days since last service) -- fictional devices.
DEVICES = (
    ("cold-air", "Borealis Medical", "AirChill 200", "CA-2024-0117", 365, 180, 100, 60),
    ("ln2-vapour", "Nordkap Instruments", "VapourWand N5", "NV-2023-0042", 180, 365, 200, 90),
    ("contact", "Glacio", "SteelTouch station", "CT-2025-0008", 365, 365, 30, 30),
)

#: A drawn signature as the pad records it (SVG path in pad pixels): a looping scribble.
DEMO_SIGNATURE = " ".join(
    [
        "M 20 70",
        *(f"L {20 + 12 * i} {70 - 35 * (i % 2) - 3 * (i % 3)}" for i in range(1, 16)),
        "M 60 85 L 190 80",
    ]
)

BASE = {"sex": "female", "fitzpatrick": 2, "blood_pressure_mmhg": [121, 79], "conditions": []}

#: given, family, sex, birth year, answers, consents, history
#: history: list of (days ago, modality, zones) sessions; "screen_days_ago" when no session.
CLIENTS: tuple[dict[str, Any], ...] = (
    {
        "name": ("Mia", "Lindqvist"),
        "born": 1986,
        "answers": {},
        "consents": ("treatment", "photos", "marketing"),
        "sessions": (
            (28, "cold-air", ("forehead", "cheek")),
            (7, "cold-air", ("forehead", "cheek")),
        ),
    },
    {
        "name": ("Noah", "Berger"),
        "sex": "male",
        "born": 1979,
        "answers": {"sex": "male"},
        "consents": ("treatment", "photos"),
        "sessions": ((14, "contact", ("periorbital",)),),
    },
    {
        "name": ("Sofia", "Marchetti"),
        "born": 1971,
        "answers": {"conditions": ["anticoagulants"]},
        "consents": ("treatment",),
        "sessions": ((10, "cold-air", ("cheek",)),),
        "sign_off": True,
    },
    {
        "name": ("Liam", "O'Connor"),
        "sex": "male",
        "born": 1990,
        "answers": {"sex": "male", "conditions": ["cold-urticaria"]},
        "consents": ("treatment",),
        "screen_days_ago": 3,
    },
    {
        "name": ("Ava", "Nakamura"),
        "born": 1994,
        "answers": {"fitzpatrick": 5},
        "consents": ("treatment", "photos"),
        "sessions": ((21, "contact", ("cheek", "chin")),),
        "adverse": True,
    },
    {
        "name": ("Oliver", "Haddad"),
        "sex": "male",
        "born": 1982,
        "answers": {"sex": "male"},
        "procedure_days_ago": ("filler", 10),
        "consents": ("treatment",),
        "screen_days_ago": 1,
    },
    {
        "name": ("Chloe", "Dubois"),
        "born": 1968,
        "answers": {"conditions": ["raynauds"]},
        "consents": ("treatment",),
        "screen_days_ago": 5,
    },
    {
        "name": ("Lucas", "Novak"),
        "sex": "male",
        "born": 1975,
        "answers": {"sex": "male"},
        "consents": ("treatment",),
        "sessions": ((45, "cold-air", ("forehead",)),),
    },
    {
        "name": ("Isabella", "Rossi"),
        "born": 1999,
        "answers": {},
        "consents": (),
        "screen_days_ago": 2,
    },
    {
        "name": ("Ethan", "Clarke"),
        "sex": "male",
        "born": 1988,
        "answers": {"sex": "male"},
        "consents": ("treatment",),
        "screen_days_ago": 4,
        "appointment_in_days": 2,
    },
)


@dataclass(frozen=True)
class DemoResult:
    """What was seeded: the staff's usernames, their password and whether it was generated."""

    usernames: tuple[str, ...]
    password: str
    password_generated: bool
    clients: int
    sessions: int
    readings: int


def is_empty() -> bool:
    """True when the clinic has no clients and no staff logins yet."""
    return not Client.objects.exists() and not get_user_model().objects.exists()


def _answers(spec: dict[str, Any], on: dt.date) -> dict[str, Any]:
    """The client's screening answers as given on ``on`` (procedure dates then; the age the
    screening service takes from the record's date of birth, birthday-aware)."""
    answers: dict[str, Any] = {**BASE, **spec["answers"]}
    if "procedure_days_ago" in spec:
        kind, days = spec["procedure_days_ago"]
        answers["recent_procedures"] = [
            {"kind": kind, "date": (on - dt.timedelta(days=days)).isoformat()}
        ]
    return answers


def _at(days_ago: int, hour: int, now: dt.datetime) -> dt.datetime:
    day = timezone.localdate(now) - dt.timedelta(days=days_ago)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, 0)))


def _staff(password: str, today: dt.date) -> dict[str, Any]:
    users: dict[str, Any] = {}
    for username, first, last, roles in STAFF:
        user = get_user_model().objects.create_user(
            username=username,
            password=password,
            first_name=first,
            last_name=last,
            email=f"{username}@demo.cryoderm.invalid",
        )
        for role in roles:
            grant_role(user, role)
        users[username] = user
    for username in ("director", "practitioner"):
        user = users[username]
        clinician = staff.add_practitioner(
            SYSTEM,
            user,
            display_name=user.get_full_name(),
            registration_number=f"DEMO-{user.pk:04d}",
        )
        for modality in ("cold-air", "ln2-vapour", "contact"):
            expired = username == "practitioner" and modality == "ln2-vapour"
            expires = today - dt.timedelta(days=20) if expired else today + dt.timedelta(days=300)
            staff.add_qualification(
                SYSTEM,
                clinician,
                modality=modality,
                title=f"{label('modality', modality)} operator certificate",
                issuer="Demo Academy of Aesthetic Practice",
                certificate_number=f"{modality[:2].upper()}-{user.pk:03d}",
                issued_on=expires - dt.timedelta(days=730),
                expires_on=expires,
            )
    return users


def _devices(director: Any, today: dt.date) -> dict[str, Device]:
    made: dict[str, Device] = {}
    for modality, maker, model, serial, cal_days, svc_days, since_cal, since_svc in DEVICES:
        device = devices.register(
            director,
            modality=modality,
            manufacturer=maker,
            model_name=model,
            serial_number=serial,
            commissioned_on=today - dt.timedelta(days=720),
            calibration_interval_days=cal_days,
            service_interval_days=svc_days,
        )
        for back in (since_svc + svc_days, since_svc):
            devices.record_maintenance(
                director,
                device,
                kind="service",
                performed_on=today - dt.timedelta(days=back),
                performed_by=f"{maker} field service",
                notes="scheduled service",
            )
        for back in (since_cal + cal_days, since_cal):
            devices.record_calibration(
                director,
                device,
                performed_on=today - dt.timedelta(days=back),
                performed_by="Demo Metrology Ltd",
                reference_instrument="calibrated reference thermometer",
                max_error_c=0.3,
                passed=True,
                certificate_ref=f"CAL-{serial}-{back}",
            )
        made[modality] = device
    fault = devices.report_fault(
        director,
        made["cold-air"],
        description="nozzle temperature warning at start-up",
        severity="minor",
        code="E-12",
        at=timezone.now() - dt.timedelta(days=50),
    )
    devices.resolve_fault(
        director,
        fault.pk,
        resolution="filter cleaned; self-test passed",
        at=timezone.now() - dt.timedelta(days=49),
    )
    return made


def _readings(made: planning.Plan) -> tuple[list[dict[str, Any]], float]:
    """The predicted surface curves of each step, one zone after another."""
    rows: list[dict[str, Any]] = []
    offset = 0.0
    for step in made.steps:
        prediction = step.prediction
        for t, temp in zip(prediction.time_s, prediction.surface_c, strict=True):
            if not (math.isfinite(t) and math.isfinite(temp)):
                continue
            rows.append(
                {
                    "zone": step.zone,
                    "sensor": f"ir-{step.zone}",
                    "elapsed_s": offset + t,
                    "skin_temp_c": round(temp, 1),
                }
            )
        offset += (prediction.time_s[-1] if prediction.time_s else 0.0) + 60.0
    return rows, offset


def _session(
    users: dict[str, Any],
    client: Client,
    device: Device,
    zones: tuple[str, ...],
    days_ago: int,
    now: dt.datetime,
    answers: dict[str, Any],
    sign_off: bool,
    index: int,
    password: str,
) -> tuple[TreatmentSession, int]:
    practitioner, director = users["practitioner"], users["director"]
    start = _at(days_ago, 10 + index % 6, now)
    response = screening.submit(
        practitioner,
        client.pk,
        answers,
        modality=device.modality,
        zones=zones,
        at=start - dt.timedelta(minutes=30),
    )
    if sign_off:
        for rule_id in response.rule_ids("refer"):
            screening.sign_off(
                practitioner,
                response.pk,
                rule_id,
                reason="Discussed with the client's GP; stable; shorter protocol",
                second=screening.SecondClinician(director.get_username(), password=password),
                at=start - dt.timedelta(minutes=20),
            )
    session = planning.plan_session(
        practitioner,
        client_id=client.pk,
        device_id=device.pk,
        zones=zones,
        goals=("skin-tone",),
        at=start - dt.timedelta(minutes=10),
    )
    session_service.start(practitioner, session.pk, at=start)
    made = planning.stored_plan(session)
    assert made is not None  # just stored by plan_session
    rows, length_s = _readings(made)
    for row in rows:
        row["recorded_at"] = start + dt.timedelta(seconds=row["elapsed_s"])
    sensor = f"device:{device.serial_number}"
    count = readings.ingest(sensor, session.pk, rows).accepted if rows else 0
    if index == 0 and rows:
        coldest = min(rows, key=lambda r: r["skin_temp_c"])
        floor = made.steps[0].floor_temp_c
        alarm = session_service.raise_alarm(
            practitioner,
            session.pk,
            code="approaching-floor",
            severity="warning",
            message="surface temperature approaching the zone's floor (demo)",
            zone=coldest["zone"],
            sensor=coldest["sensor"],
            value_c=coldest["skin_temp_c"],
            limit_c=floor,
            at=coldest["recorded_at"],
        )
        session_service.acknowledge_alarm(practitioner, alarm.pk, at=coldest["recorded_at"])
    end = start + dt.timedelta(seconds=length_s)
    session_service.finish(practitioner, session.pk, exposure_s=made.total_exposure_s, at=end)
    outcomes.record_score(
        practitioner,
        client.pk,
        session_id=session.pk,
        rater="clinician",
        scale="gais",
        score=2 + index % 2,
        at=end,
    )
    outcomes.record_score(
        practitioner,
        client.pk,
        session_id=session.pk,
        rater="client",
        scale="satisfaction-nrs",
        score=6 + index % 4,
        at=end,
    )
    outcomes.record_measure(
        practitioner,
        client.pk,
        session_id=session.pk,
        quantity="erythema-index",
        value=280 + 15 * (index % 3),
        unit="a.u.",
        zone=zones[0],
        instrument="demo erythema meter",
        at=end,
    )
    return session, count


@transaction.atomic
def seed(password: str | None = None, *, now: dt.datetime | None = None) -> DemoResult:
    """Seed the demo clinic (in one transaction). password: the staff's password; when None,
    CRYODERM_DEMO_PASSWORD, else a generated one (returned, to be printed)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    chosen = password or os.environ.get("CRYODERM_DEMO_PASSWORD") or ""
    generated = not chosen
    chosen = chosen or secrets.token_urlsafe(12)
    clinic_policy.update(
        SYSTEM,
        clinic_name="cryoderm demo clinic",
        clinic_address="1 Example Street\nLondon EC1A 1AA",
        reason="the demo clinic is named",
    )
    users = _staff(chosen, today)
    director, frontdesk = users["director"], users["frontdesk"]
    for scope, (title, body) in CONSENT_TEXTS.items():
        consent.publish_text(
            director, scope, title=title, body=body, at=now - dt.timedelta(days=400)
        )
    room = scheduling.add_room(director, "Treatment room 1")
    scheduling.add_room(director, "Treatment room 2")
    fleet = _devices(director, today)
    sessions = stored_readings = 0
    for number, spec in enumerate(CLIENTS):
        given, family = spec["name"]
        client = client_service.create(
            frontdesk,
            given_name=given,
            family_name=family,
            date_of_birth=dt.date(spec["born"], 1 + number % 12, 1 + (3 * number) % 27),
            sex=spec.get("sex", "female"),
            email=f"{given.lower()}@example.org",
            phone=f"+44 20 7946 {number:04d}",
            fitzpatrick_type=spec["answers"].get("fitzpatrick", 2),
        )
        history = spec.get("sessions", ())
        first_visit = max([days for days, _, _ in history], default=spec.get("screen_days_ago", 1))
        for scope in spec["consents"]:
            consent.sign(
                users["practitioner"],
                client.pk,
                scope,
                signer_name=client.full_name,
                signature=DEMO_SIGNATURE,
                ip_address="127.0.0.1",
                user_agent="demo",
                at=_at(first_visit, 9, now),
            )
        for days_ago, modality, zones in history:
            answers = _answers(spec, today - dt.timedelta(days=days_ago))
            _, count = _session(
                users,
                client,
                fleet[modality],
                zones,
                days_ago,
                now,
                answers,
                bool(spec.get("sign_off")),
                sessions,
                chosen,
            )
            sessions += 1
            stored_readings += count
        if "screen_days_ago" in spec:
            days = spec["screen_days_ago"]
            screening.submit(
                users["practitioner"],
                client.pk,
                _answers(spec, today - dt.timedelta(days=days)),
                at=_at(days, 11, now),
            )
        if spec.get("adverse"):
            last = client.sessions.order_by("-started_at").first()
            adverse.report(
                users["practitioner"],
                client.pk,
                session_id=last.pk if last else None,
                description="Whitening and tingling of the chin skin after treatment; resolved "
                "on rewarming within 20 min; no blistering (demo)",
                cold_injury_grade="frostnip",
                seriousness="non-serious",
                zone="chin",
                action_taken="Treatment stopped; passive rewarming; reviewed next day",
                at=last.ended_at if last and last.ended_at else now,
            )
        if "appointment_in_days" in spec:
            begins = _at(-spec["appointment_in_days"], 14, now)
            scheduling.book(
                frontdesk,
                client_id=client.pk,
                practitioner_id=users["practitioner"].practitioner.pk,
                device_id=fleet["cold-air"].pk,
                room_id=room.pk,
                starts_at=begins,
                ends_at=begins + dt.timedelta(minutes=45),
                notes="follow-up (demo)",
            )
    return DemoResult(
        usernames=tuple(u for u, *_ in STAFF),
        password=chosen,
        password_generated=generated,
        clients=len(CLIENTS),
        sessions=sessions,
        readings=stored_readings,
    )
