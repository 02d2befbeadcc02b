"""The PDF session report is complete for the client's file and reads as a practitioner
reads: its text (extracted with pypdf, as a reader's tool would) names the clinic, the client,
the session, the screening and both clinicians of a sign-off, the consents (withdrawn ones as
withdrawn), each zone's readings and why the cold stopped, the alarms, the aftercare and a
signature line; never "None", never an identifier that has a label, no sentence twice."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.test import Client as Browser
from django.urls import reverse
from pypdf import PdfReader

from clinic import story
from clinic.readable import raw_identifiers

pytestmark = pytest.mark.django_db


def report_text(user: Any, session_pk: int) -> str:
    browser = Browser()
    browser.force_login(user)
    response = browser.get(reverse("web:session_report", args=[session_pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pages = PdfReader(io.BytesIO(response.content)).pages
    return "\n".join(page.extract_text() for page in pages)


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.fixture
def told(alice: Any) -> story.Story:
    return story.tell(alice)


def test_the_report_says_who_what_when_and_under_which_screening_and_consents(
    alice: Any, told: story.Story
) -> None:
    session, client = told.session, told.session.client
    text = flat(report_text(alice, session.pk))
    expected = [
        story.CLINIC_NAME,
        "12 Harbour Row, Bristol BS1 4QA",
        "Treatment session report",
        f"Client: Grace Hopper, born 9 Dec 1976, client no. {client.pk}",
        "Practitioner: Alice Arden",
        "serial CA-7 (Cold air)",
        "Zones: Forehead, Cheek (zygoma, malar)",
        "Goals: Skin tone and glow",
        "Aborted; started",
        "Why it ended: Cheek: the floor was forecast within the stop time",
        # the screening, and both clinicians of the sign-off
        "Verdict: Refer, screened",
        "by Alice Arden, for Cold air",
        "Refer: Taking anticoagulants",
        "Signed off by Alice Arden and, as second clinician, Dora Doctor",
        '"INR stable, GP letter on file"',
        "Treat with precautions: Fitzpatrick skin type not recorded",
        # consents, the withdrawn one as withdrawn
        "Treatment: Treatment consent (version 1), signed by Grace Hopper",
        "the consent this session relied on",
        "Clinical photographs: Photos consent (version 1), signed by Grace Hopper",
        "withdrawn on",
        'by Alice Arden: "no more photographs, she said"',
        # each zone: technique, readings, why the cold stopped
        "Air at -30.0 °C",
        "Every zone: target band +8.0 to +12.0 °C, floor +2.0 °C.",
        "31 skin readings from 0 s to 60 s; coldest +3.4 °C at 40 s. Cold stopped: the floor "
        "was forecast within the stop time.",
        # alarms and their acknowledgement
        "Cheek (zygoma, malar): Floor forecast within the stop time (Stop: exposure ended)",
        "acknowledged by Alice Arden",
        "Evidence for the goals",
        "Skin tone and glow: Evidence: a transient effect only",
        "Aftercare",
        "Let the skin rewarm in room air; apply no heat.",
        "Signature of the practitioner:",
    ]
    assert [phrase for phrase in expected if phrase not in text] == [], text


def test_the_report_has_no_none_no_identifier_and_no_sentence_twice(
    alice: Any, told: story.Story
) -> None:
    text = report_text(alice, told.session.pk)
    assert not re.search(r"\bNone\b", text)
    assert raw_identifiers(text) == []
    assert "[c1-cheek/1]" not in text  # the journal's alarm id is not for the reader
    sentences = [
        s.strip()
        for s in re.split(r"(?<=\.)\s+|\n- ", flat(text).replace(" - ", "\n- "))
        if len(s.split()) >= 5
    ]
    repeated = {s for s in sentences if sentences.count(s) > 1}
    assert repeated == set()


def test_a_report_without_readings_or_alarms_says_so_in_words(alice: Any) -> None:
    from clinic import factories
    from cryoderm.clinic.records.services import sessions as session_service

    session = factories.ready_session(alice)
    session_service.start(alice, session.pk)
    text = flat(report_text(alice, session.pk))
    assert "no skin readings recorded" in text and "No alarm was raised." in text
    assert "In progress; started" in text
    assert not re.search(r"\bNone\b", text)
