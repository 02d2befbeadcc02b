"""Signing in and out through the pages, as staff and as an attacker meet them."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client as Browser

pytestmark = pytest.mark.django_db


def test_signing_out_ends_the_session_on_the_sign_in_page(alice: Any) -> None:
    browser = Browser()
    browser.force_login(alice)
    response = browser.post("/logout/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0].startswith("/login/")
    assert browser.get("/api/me").status_code == 401


def test_the_idle_sign_out_form_returns_to_its_page(alice: Any) -> None:
    browser = Browser()
    browser.force_login(alice)
    response = browser.post("/logout/", {"next": "/login/?idle=1&next=/clients/"})
    assert response.status_code == 302
    assert response["Location"] == "/login/?idle=1&next=/clients/"
