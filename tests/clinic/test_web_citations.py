"""Practitioners read sources as "Author Year" with a link to the work, never a key or a note."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client as Browser
from django.urls import reverse

from cryoderm.data import citations
from web import world

pytestmark = pytest.mark.django_db


def test_a_screening_finding_names_its_sources_by_author_and_year_with_links(alice: Any) -> None:
    browser = Browser()
    browser.force_login(alice)
    response = browser.post(
        reverse("web:screening_preview", args=[world.client().pk]),
        {
            "age_years": "40",
            "sex": "female",
            "fitzpatrick": "2",
            "systolic_mmhg": "120",
            "diastolic_mmhg": "80",
            "conditions": "raynauds",
        },
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    cryoniq = citations.references()["CryoniqND"]
    assert f'href="{cryoniq.link}"' in body and f">{cryoniq.label}</a>" in body
    assert "CryoniqND" not in body


def test_the_cite_filter_escapes_the_text_around_the_links() -> None:
    from cryoderm.clinic.web.templatetags.web import cite

    html = str(cite("<b>Osczevski1994</b> & more"))
    assert html.startswith("&lt;b&gt;<a href=") and html.endswith("&lt;/b&gt; &amp; more")
    assert ">Osczevski 1994</a>" in html
