"""Shared test set-up: a derandomised hypothesis profile for CI, and real-service detection.

Tests that need PostgreSQL, Mosquitto or Redis talk to the real server. Where it is absent
they skip with a visible reason; with CRYODERM_REQUIRE_SERVICES=1 (as .ci/run sets) they fail
instead, so CI never passes by skipping.
"""

from __future__ import annotations

import os
import socket

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

SERVICES = {
    "postgres": ("127.0.0.1", 5432),
    "mqtt": ("127.0.0.1", 1883),
    "redis": ("127.0.0.1", 6379),
}


def service_reachable(name: str) -> bool:
    host, port = SERVICES[name]
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def require_service(name: str) -> None:
    """Skip (or, in CI, fail) the calling test when the named service is not listening."""
    if service_reachable(name):
        return
    host, port = SERVICES[name]
    reason = f"{name} is not listening on {host}:{port}"
    if os.environ.get("CRYODERM_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason}, and CRYODERM_REQUIRE_SERVICES=1 requires it")
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def clinic_key_directory(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The clinic's key directory (audit seals, checkpoints, backup key) for this test
    process: a fresh one, so that tests never mix their checkpoints with those of
    `make run`'s clinic or of another test process. Set before any database is created."""
    from django.conf import settings as django_settings

    django_settings.CRYODERM_KEY_DIR = tmp_path_factory.mktemp("clinic-keys")


@pytest.fixture
def mqtt_broker() -> tuple[str, int]:
    require_service("mqtt")
    return SERVICES["mqtt"]
