"""Every page of a realistic clinic reads as a practitioner reads: labels, never an
identifier that has one; temperatures with °C; gates "Passed" or "Blocked" with the reason.

The clinic is tests/clinic/story.py (a refer sign-off, a withdrawn consent, an interlock stop,
a do-not-treat client, a session whose gates are closed). The walk follows every link from the
dashboard, as the practitioner and as the medical director, and reads each page's visible text
(tests/clinic/readable.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client as Browser
from django.urls import reverse

from clinic import story
from clinic.personas import make_user
from clinic.readable import raw_identifiers, visible_text
from cryoderm.clinic.accounts.permissions import MEDICAL_DIRECTOR, grant_role
from cryoderm.clinic.records.gates import GATES
from cryoderm.data import labels

pytestmark = pytest.mark.django_db

#: Not pages to read: files, exports, sign-out, and the live view's event stream.
SKIP = re.compile(r"/logout/|/export/|report\.pdf$|/photos/|/static/|/stream/")


def walk(user: Any, start: str = "/", limit: int = 120) -> dict[str, str]:
    """The visible text of every page reachable from ``start`` by links."""
    browser = Browser()
    browser.force_login(user)
    texts: dict[str, str] = {}
    todo = [start]
    while todo and len(texts) < limit:
        url = todo.pop()
        if url in texts or SKIP.search(url):
            continue
        response = browser.get(url)
        assert response.status_code == 200, (url, response.status_code)
        body = response.content.decode()
        texts[url] = visible_text(body)
        todo += [u.replace("&amp;", "&") for u in re.findall(r'href="(/[^"#]*)"', body)]
    return texts


@pytest.fixture
def told(alice: Any) -> story.Story:
    return story.tell(alice)


@pytest.fixture
def director(db: None) -> Any:
    user = make_user("mona", "Mona", "Medic")
    grant_role(user, MEDICAL_DIRECTOR)
    return user


def test_no_page_shows_an_identifier_that_has_a_label(
    alice: Any, director: Any, told: story.Story
) -> None:
    pages = {**walk(alice), **walk(director)}
    assert len(pages) > 20
    assert any(url.endswith("/live/") for url in pages)  # the live page is read too
    found = {url: raw_identifiers(text) for url, text in pages.items()}
    assert {url: ids for url, ids in found.items() if ids} == {}
    assert not [url for url, text in pages.items() if re.search(r"\bNone\b", text)]


def test_the_session_page_names_zones_alarms_and_temperatures_by_their_labels(
    alice: Any, told: story.Story
) -> None:
    page = walk(alice, reverse("web:session", args=[told.session.pk]), limit=1)
    text = " ".join(next(iter(page.values())).split())
    for phrase in (
        "zones: Forehead, Cheek (zygoma, malar)",
        "Cold air · goals: Skin tone and glow · screening: Refer",
        "Target band +8.0 to +12.0 °C held 30 s; floor +2.0 °C.",
        "Floor forecast within the stop time",
        "Skin tone and glow",
    ):
        assert phrase in text, phrase


def test_gates_read_passed_or_blocked_with_their_labels_and_reasons(
    alice: Any, told: story.Story
) -> None:
    page = walk(alice, reverse("web:session", args=[told.blocked.pk]), limit=1)
    text = " ".join(next(iter(page.values())).split())
    gates = re.findall(r"(Passed|Blocked) ([^:]+):", text)
    assert [name.strip() for _, name in gates] == [labels.label("gate", g) for g in GATES]
    assert ("Blocked", "Treatment consent signed") in [(s, n.strip()) for s, n in gates]
    assert "no signed treatment consent. To clear: the client signs the treatment consent" in text
    assert not re.search(r"\b(True|False|Open|Closed)\b", text)


def test_a_do_not_treat_verdict_names_the_condition_and_the_preview_speaks_clinician(
    alice: Any, told: story.Story
) -> None:
    browser = Browser()
    browser.force_login(alice)
    response = browser.post(
        reverse("web:screening_preview", args=[told.refused_client.pk]),
        {
            "age_years": "40",
            "conditions": ["raynauds", "open-wound-in-area"],
            "zones_open-wound-in-area": ["chin"],
            "modality": "ln2-vapour",
            "zones": ["cheek"],
            "procedure_kind_0": "chemical-peel",
            "procedure_date_0": "2026-11-20",
        },
        HTTP_HX_REQUEST="true",
    )
    text = " ".join(visible_text(response.content.decode()).split())
    assert "Do not treat" in text and "Raynaud's phenomenon" in text
    assert "For Liquid-nitrogen vapour on Cheek (zygoma, malar)" in text
    assert "the client answered yes, affecting Chin (mental eminence)" in text
    assert raw_identifiers(text) == []
