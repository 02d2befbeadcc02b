"""Planning, the session record and the live bridge, through Django's test client.

The live session runs the real interlock in a process of its own (``cryoderm interlock
--source embedded``, journal in a temporary directory) with a simulated device whose
practitioner lingers on one spot: the interlock stops it, and the forwarder copies the
readings, the alarms and the stop into the records; the practitioner then decides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client as Browser
from django.urls import reverse

from clinic.factories import SIGNATURE
from clinic.live_helpers import forward, interlock_process, until
from cryoderm.clinic.live import channel
from cryoderm.clinic.live.forward import LiveId
from cryoderm.clinic.records.models import (
    Alarm,
    JournalCursor,
    SessionEvent,
    SessionZone,
    SkinReading,
    TreatmentSession,
)
from cryoderm.clinic.records.services import consent as consent_service
from cryoderm.clinic.records.services import screening as screening_service
from cryoderm.interlock.journal import entries_of
from web import world

pytestmark = pytest.mark.django_db(transaction=True)


def signed_in(user: Any) -> Browser:
    browser = Browser()
    browser.force_login(user)
    return browser


@pytest.fixture
def journal(settings: Any, tmp_path: Path) -> Path:
    settings.CRYODERM_INTERLOCK_DIR = tmp_path / "interlock"
    return settings.CRYODERM_INTERLOCK_DIR


def ready_client(alice: Any) -> Any:
    """A client screened clear for LN2 and consenting to treatment."""
    world.consent_texts()
    client = world.client()
    screening_service.submit(
        alice,
        client.pk,
        {
            "age_years": 40,
            "sex": "female",
            "fitzpatrick": 2,
            "blood_pressure_mmhg": [120, 80],
            "conditions": [],
        },
        modality="ln2-vapour",
    )
    consent_service.sign(
        alice, client.pk, "treatment", signer_name="Ada Lovelace", signature=SIGNATURE
    )
    return client


def test_a_plan_is_shown_with_its_curves_margins_and_evidence(alice: Any, journal: Path) -> None:
    client = ready_client(alice)
    device = world.device()
    browser = signed_in(alice)
    response = browser.post(
        reverse("web:plan_new", args=[client.pk]),
        {"goals": ["skin-tone"], "zones": ["cheek"], "modality": "ln2-vapour", "device": device.pk},
    )
    session = TreatmentSession.objects.get(client=client)
    assert response["Location"] == reverse("web:session", args=[session.pk])
    assert session.plan["steps"][0]["case_toml"]
    page = browser.get(response["Location"]).content.decode()
    assert "Cheek (zygoma, malar): temperature against time" in page
    assert "Target band" in page and "Floor +2.0 °C" in page
    assert "Cheek (zygoma, malar): coldest temperature against depth" in page
    assert "Depth below the surface (mm): Epidermis 0, Dermis" in page
    assert "Evidence, in plain words" in page
    assert "Treatment consent signed" in page  # the gates checklist before the start


def test_a_device_of_another_modality_is_refused_next_to_the_device(alice: Any) -> None:
    client = ready_client(alice)
    device = world.device(modality="cold-air")
    response = signed_in(alice).post(
        reverse("web:plan_new", args=[client.pk]),
        {"goals": ["skin-tone"], "zones": ["cheek"], "modality": "ln2-vapour", "device": device.pk},
    )
    assert "is a cold-air device" in response.context["form"].errors["device"][0]
    assert not TreatmentSession.objects.exists()


def test_no_zone_picked_is_said_next_to_the_face_map(alice: Any) -> None:
    client = ready_client(alice)
    response = signed_in(alice).post(
        reverse("web:plan_new", args=[client.pk]),
        {"goals": ["skin-tone"], "modality": "ln2-vapour"},
    )
    assert "Pick at least one zone on the face map." in response.content.decode()


@pytest.mark.slow
def test_a_lingering_wand_is_stopped_by_the_interlock_and_recorded(
    alice: Any, journal: Path
) -> None:
    client = ready_client(alice)
    device = world.device()
    browser = signed_in(alice)
    browser.post(
        reverse("web:plan_new", args=[client.pk]),
        {"goals": ["skin-tone"], "zones": ["cheek"], "modality": "ln2-vapour", "device": device.pk},
    )
    session = TreatmentSession.objects.get(client=client)
    assert browser.post(reverse("web:session_start", args=[session.pk]))["Location"] == reverse(
        "web:session_live", args=[session.pk]
    )
    with interlock_process(journal):
        browser.post(
            reverse("web:session_start_zone", args=[session.pk]),
            {"zone": "cheek", "fault": "linger"},
        )
        live_id = str(LiveId(session.pk, "cheek"))
        # About 30 s of cold; generous for a loaded machine.
        stop = until(lambda: entries_of(channel.journal(), live_id, ("stop",)), 150)[-1]
    assert stop.payload["reason"] in ("floor", "predicted-floor")
    forward()
    run = SessionZone.objects.get(session=session, zone="cheek")
    assert run.status == SessionZone.Status.STOPPED and run.stop_reason == stop.payload["reason"]
    session.refresh_from_db()
    assert session.status == TreatmentSession.Status.IN_PROGRESS  # the practitioner decides
    assert SkinReading.objects.filter(session=session).count() > 10
    assert Alarm.objects.filter(session=session, severity=Alarm.Severity.STOP).exists()
    # Forwarding again from the start (another process, a restart) copies nothing twice.
    copied = (Alarm.objects.count(), SessionEvent.objects.count(), SkinReading.objects.count())
    JournalCursor.objects.all().delete()
    forward()
    assert (Alarm.objects.count(), SessionEvent.objects.count()) == copied[:2]
    times = list(SkinReading.objects.filter(session=session).values_list("elapsed_s", flat=True))
    assert len(times) == len(set(times)) == copied[2]
    page = browser.get(reverse("web:session_live", args=[session.pk])).content.decode()
    assert "Reason to resume Cheek (zygoma, malar)" in page
    assert "Reason to end Cheek (zygoma, malar) and go on" in page
    record = browser.get(reverse("web:session", args=[session.pk])).content.decode()
    assert "Coldest measured skin" in record
    pdf = browser.get(reverse("web:session_report", args=[session.pk]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_front_desk_is_refused_the_live_view_and_its_stream(alice: Any, bob: Any) -> None:
    client = ready_client(alice)
    session = TreatmentSession.objects.create(
        client=client, practitioner=alice.practitioner, device=world.device(), zones=["cheek"]
    )
    for name in ("web:session_live", "web:session_stream", "web:session"):
        assert signed_in(bob).get(reverse(name, args=[session.pk])).status_code == 403
