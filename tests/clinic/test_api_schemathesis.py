"""schemathesis over /api/openapi.json, in-process (WSGI): for every operation of the API,
generated requests never produce a 5xx, and every response matches the schema (status code,
content type, body). Bounded and derandomised, so the run is short and the same every time.

So that generated requests reach the handlers' own validation and rules (not only 401 and
404), they carry the token of the medical director (the broadest role; a device token for
reading ingest), and every id in a path names a real record of a small clinic: a client
with a refer screening, consents, outcomes, a planned and a running session, a device with
a calibration."""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from clinic import factories
from clinic.api_helpers import director
from clinic.test_photos import jpeg
from cryoderm.clinic.accounts import tokens
from cryoderm.clinic.records.models import CalibrationRecord
from cryoderm.clinic.records.services import outcomes, photos
from cryoderm.clinic.records.services import sessions as session_service

#: Operations a token may not call (the person signs in): called with a session instead.
PRESENCE_PATHS = (
    "/signoffs",
    "/start",
    "/resume-after-stop",
    "/consents",
    "/withdraw",
    "/entered-in-error",
)

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(autouse=True)
def keep_the_test_transaction() -> Any:
    """The raw WSGI handler closes the database connection after each request (Django's
    test client avoids this the same way); the test's transaction must survive it."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def clinic(db: None, settings: Any, tmp_path: Any) -> dict[str, Any]:
    """A small clinic run by dora (medical director and practitioner): the ids a path may
    name, and the tokens."""
    dora = director()
    planned = factories.ready_session(dora)
    running = session_service.start(dora, factories.ready_session(dora, serial_number="CA-2").pk)
    client = planned.client
    referred = factories.screen(
        dora, client, {**factories.CLEAR_ANSWERS, "conditions": ["anticoagulants"]}
    )
    score = outcomes.record_score(dora, client.pk, rater="client", scale="gais", score=2)
    measure = outcomes.record_measure(
        dora, client.pk, quantity="tewl", value=12.0, unit="g/m2/h", zone="cheek"
    )
    settings.MEDIA_ROOT = tmp_path / "media"
    factories.sign_consent(dora, client, "photos")
    photo = photos.add(dora, client.pk, image=jpeg(), view="front", phase="before")
    ids = {
        "client_id": client.pk,
        "screening_id": referred.pk,
        "session_id": running.pk,
        "device_id": planned.device_id,
        "calibration_id": CalibrationRecord.objects.filter(device=planned.device).first().pk,
        "consent_id": client.consents.first().pk,
        "score_id": score.pk,
        "measure_id": measure.pk,
        "photo_id": photo.pk,
    }
    browser = Client()
    browser.force_login(dora)
    return {
        "ids": ids,
        "planned_session": planned.pk,
        # What needs the person present (accounts.permissions.PRESENCE_REQUIRED) is refused
        # with a token: those operations are called with dora's signed-in session instead.
        "session_cookie": browser.cookies[django_settings.SESSION_COOKIE_NAME].value,
        "director": tokens.issue("schemathesis", user=dora).plaintext,
        "device": tokens.issue("sensor", user=dora, device=running.device).plaintext,
    }


def _at_real_records(case: Any, clinic: dict[str, Any]) -> None:
    ids = dict(clinic["ids"])
    if case.path.endswith("/start") or case.path.endswith("/gates"):
        ids["session_id"] = clinic["planned_session"]
    for name in case.path_parameters or {}:
        if name in ids:
            case.path_parameters[name] = ids[name]


@schema.parametrize()
@settings(
    # A deeper hunt: CRYODERM_SCHEMATHESIS_EXAMPLES=100 (the suite runs 8 per operation).
    max_examples=int(os.environ.get("CRYODERM_SCHEMATHESIS_EXAMPLES", "8")),
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_server_error_and_responses_match_the_schema(case: Any, clinic: dict[str, Any]) -> None:
    _at_real_records(case, clinic)
    if case.method == "POST" and case.path.endswith(PRESENCE_PATHS):
        csrf = "a" * 32
        case.headers = {**(case.headers or {}), "X-CSRFToken": csrf}
        case.cookies = {
            **(case.cookies or {}),
            django_settings.SESSION_COOKIE_NAME: clinic["session_cookie"],
            django_settings.CSRF_COOKIE_NAME: csrf,
        }
        case.call_and_validate(checks=CHECKS)
        return
    token = (
        clinic["device"]
        if case.path.endswith("/readings") and case.method == "POST"
        else clinic["director"]
    )
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
    case.call_and_validate(checks=CHECKS)


def test_every_operation_of_the_api_is_exercised() -> None:
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40
    # Every path parameter the API uses names a record the clinic fixture provides.
    names = {parameter.name for operation in operations for parameter in operation.path_parameters}
    assert names <= {
        "client_id",
        "screening_id",
        "session_id",
        "device_id",
        "calibration_id",
        "consent_id",
        "score_id",
        "measure_id",
        "photo_id",
    } | {"zone", "alarm_id"}, names
