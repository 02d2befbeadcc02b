"""schemathesis over /api/openapi.json, in-process (WSGI): for every operation, generated
requests never produce a 5xx, and every response matches the schema (status code, content
type, body). Bounded and derandomised, so the run is short and the same every time.

Requests carry a bearer token of the medical director (the broadest role), so they reach
the endpoints' own validation instead of stopping at 401."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from clinic import factories
from clinic.api_helpers import director
from cryoderm.clinic.accounts import tokens

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
def director_token(db: None) -> str:
    dora = director()
    # A real client, so that generated ids sometimes find something.
    factories.make_client(dora)
    return tokens.issue("schemathesis", user=dora).plaintext


@schema.parametrize()
@settings(
    max_examples=5,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_server_error_and_responses_match_the_schema(case: Any, director_token: str) -> None:
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {director_token}"}
    case.call_and_validate(checks=CHECKS)
