"""The clinic's test set-up: the database choice, and the fixed personas.

The database is chosen by the settings at start-up: SQLite (in memory for tests) by
default, the local PostgreSQL server with CRYODERM_TEST_DATABASE=postgres (pytest-django
creates ``test_cryoderm_<pid>``, suffixed per xdist worker, so that concurrent
runs on one server never collide). When PostgreSQL is asked for but not
listening, every database test skips with the reason (or fails under
CRYODERM_REQUIRE_SERVICES=1).

Personas (healthchecks style), the same in every permission test:
alice, a practitioner qualified for every modality; bob, her colleague at the front desk;
charlie, an outsider with a login but no role in the clinic."""

from __future__ import annotations

import os
from typing import Any

import pytest

from clinic import personas
from conftest import require_service


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    if os.environ.get("CRYODERM_TEST_DATABASE") == "postgres":
        require_service("postgres")


@pytest.fixture
def alice(db: None) -> Any:
    return personas.alice()


@pytest.fixture
def bob(db: None) -> Any:
    return personas.bob()


@pytest.fixture
def charlie(db: None) -> Any:
    return personas.charlie()
