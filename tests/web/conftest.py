"""Browser journeys: Playwright drives Debian's chromium against pytest-django's live server.

Never ``playwright install``: the browser is the system's /usr/bin/chromium (``make browser``
installs it). Without it the journeys skip with the reason, or fail under
CRYODERM_REQUIRE_SERVICES=1 so that CI never passes by skipping. Every page a journey visits
is photographed into test-artifacts/screenshots/.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is not installed (run `make browser`)"
    if os.environ.get("CRYODERM_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason}, and CRYODERM_REQUIRE_SERVICES=1 requires it")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The live server's threads, the journal forwarder and the test share one database: on
    SQLite a file (WAL, as deployed), where a writer waits for another; the in-memory shared
    cache of Django's default test database fails it at once ("the request's session was
    deleted" when the forwarder wrote while a page saved its session)."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        folder = tmp_path_factory.mktemp("database")
        database.setdefault("TEST", {})["NAME"] = str(folder / "browser-tests.sqlite3")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one test module. Playwright's sync API keeps an event loop running in
    this thread while it is open, which Django's ORM guard would refuse; the tests' own ORM
    calls are plain synchronous code, so the guard is lifted for exactly that long."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class Shots:
    """Numbered full-page screenshots of one test, named after what they show."""

    def __init__(self, test_name: str) -> None:
        self.prefix = re.sub(r"[^a-z0-9]+", "-", test_name.lower()).strip("-")
        self.count = 0
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def __call__(self, page: Any, what: str) -> None:
        self.count += 1
        name = f"{self.prefix}-{self.count:02d}-{re.sub(r'[^a-z0-9]+', '-', what.lower())}.png"
        page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A fresh tablet-sized browser context on the live server (1024 x 768, touch)."""
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1024, "height": 768}, has_touch=True
    )
    context.set_default_timeout(20_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on(
        "console",
        lambda msg: errors.append(msg.text) if msg.type == "error" else None,
    )
    tab.js_errors = errors
    yield tab
    context.close()


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Shots:
    return Shots(request.node.name)


def sign_in(page: Any, username: str, password: str) -> None:
    """Sign in through the page: password, then the authenticator's code when the role
    signs in with one (the personas' authenticator, see clinic.personas)."""
    from django.contrib.auth import get_user_model

    from clinic import personas
    from cryoderm.clinic.accounts import mfa

    user = get_user_model().objects.get(username=username)
    if mfa.required(user):
        personas.enrol_authenticator(user)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    if mfa.enrolled(user):
        page.get_by_label("Authentication code").fill(personas.one_time_code(user))
        page.get_by_role("button", name="Verify").click()


UNLABELLED_FIELDS_JS = """
() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => el.type !== 'hidden' && !el.closest('[hidden]'))
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.getAttribute('aria-labelledby'))
  .map(el => el.name || el.id)
"""


def assert_every_field_labelled(page: Any) -> None:
    """Every visible form field has a label a screen reader announces (WCAG 1.3.1, 4.1.2)."""
    assert page.evaluate(UNLABELLED_FIELDS_JS) == []
