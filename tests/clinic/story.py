"""One realistic treatment, told through the records services, for the tests of what a
practitioner reads (pages and the PDF report).

Alice screens Grace Hopper (anticoagulants: a refer finding, signed off with Dora as second
clinician; skin type not recorded: a precaution), Grace signs the treatment and photo
consents and later withdraws the photo consent; Alice plans skin-tone on the forehead and
cheek with cold air, starts, the readings come in, the interlock raises a floor forecast on
the cheek and stops the cold there, Alice acknowledges it, and the session ends aborted.
Beside it: a client whose verdict is do-not-treat (Raynaud's phenomenon), a planned
session whose gates are closed (consent not signed), and a session in progress.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from clinic import factories
from clinic.personas import PASSWORD, make_practitioner, make_user
from cryoderm.clinic.accounts.permissions import PRACTITIONER, grant_role
from cryoderm.clinic.records.models import ClinicPolicy, TreatmentSession
from cryoderm.clinic.records.services import consent, planning, readings
from cryoderm.clinic.records.services import screening as screening_service
from cryoderm.clinic.records.services import sessions as session_service

REFER = {
    **factories.CLEAR_ANSWERS,
    "fitzpatrick": None,
    "conditions": ["anticoagulants"],
}
CLINIC_NAME = "Northwind Skin Clinic"


@dataclass(frozen=True)
class Story:
    session: TreatmentSession
    blocked: TreatmentSession
    refused_client: Any
    second_clinician: Any


def dora() -> Any:
    user = make_user("dora", "Dora", "Doctor")
    grant_role(user, PRACTITIONER)
    make_practitioner(user)
    return user


def _readings(start: dt.datetime) -> list[dict[str, Any]]:
    rows = []
    for zone, coldest in (("forehead", 9.1), ("cheek", 3.4)):
        for i in range(0, 61, 2):
            temp = 33.0 - (33.0 - coldest) * min(i, 40) / 40
            rows.append(
                {
                    "zone": zone,
                    "sensor": "ir-1",
                    "elapsed_s": float(i),
                    "skin_temp_c": round(temp, 2),
                    "recorded_at": start + dt.timedelta(seconds=i),
                }
            )
    return rows


def tell(alice: Any) -> Story:
    policy = ClinicPolicy.current()
    policy.clinic_name = CLINIC_NAME
    policy.clinic_address = "12 Harbour Row\nBristol BS1 4QA\n"
    policy.save()
    second = dora()
    client = factories.make_client(
        alice, given_name="Grace", family_name="Hopper", date_of_birth=dt.date(1976, 12, 9)
    )
    device = factories.make_device(modality="cold-air", serial_number="CA-7")
    referred = factories.screen(alice, client, REFER, modality="cold-air")
    screening_service.sign_off(
        alice,
        referred.pk,
        "anticoagulants",
        reason="INR stable, GP letter on file",
        second=screening_service.SecondClinician(second.get_username(), password=PASSWORD),
    )
    factories.sign_consent(alice, client, "treatment")
    photos = factories.sign_consent(alice, client, "photos")
    consent.withdraw(alice, photos.pk, reason="no more photographs, she said", confirmed=True)
    session = planning.plan_session(
        alice,
        client_id=client.pk,
        device_id=device.pk,
        zones=["forehead", "cheek"],
        goals=["skin-tone"],
    )
    start = timezone.now() - dt.timedelta(minutes=30)
    session_service.start(alice, session.pk, at=start)
    readings.ingest(f"device:{device.serial_number}", session.pk, _readings(start))
    alarm = session_service.raise_alarm(
        alice,
        session.pk,
        code="predicted-floor",
        severity="stop",
        message="forecast reaches the floor +2.0 °C in 2.40 s (skin +3.40 °C): cold stopped "
        "before the floor [c1-cheek/1]",
        zone="cheek",
        at=start + dt.timedelta(seconds=58),
    )
    session_service.add_event(
        alice,
        session.pk,
        kind="stopped",
        message="the interlock stopped the cold",
        data={"zone": "cheek", "reason": "predicted-floor", "exposure_s": 58.0},
        at=start + dt.timedelta(seconds=58),
    )
    session_service.acknowledge_alarm(alice, alarm.pk, at=start + dt.timedelta(seconds=70))
    session_service.finish(
        alice,
        session.pk,
        exposure_s=118.0,
        aborted=True,
        reason="Cheek: the floor was forecast within the stop time",
        at=start + dt.timedelta(minutes=3),
    )
    refused = factories.make_client(alice, given_name="Ivy", family_name="Raines")
    factories.screen(alice, refused, {**factories.CLEAR_ANSWERS, "conditions": ["raynauds"]})
    waiting = factories.make_client(alice, given_name="Jon", family_name="Snowden")
    factories.screen(alice, waiting, modality="cold-air")
    blocked = planning.plan_session(
        alice, client_id=waiting.pk, device_id=device.pk, zones=["chin"], goals=["skin-tone"]
    )
    # A session in progress: its live page is part of the walk.
    running = factories.make_client(alice, given_name="Kim", family_name="Lark")
    factories.screen(alice, running, modality="ln2-vapour")
    factories.sign_consent(alice, running, "treatment")
    wand = factories.make_device(modality="ln2-vapour", serial_number="LN-3")
    live = planning.plan_session(
        alice, client_id=running.pk, device_id=wand.pk, zones=["forehead"], goals=["skin-tone"]
    )
    session_service.start(alice, live.pk)
    session.refresh_from_db()
    return Story(session, blocked, refused, second)
