"""What one request costs stays small: the two requests the load test makes by the thousand
(a device's reading batch, a client search with a user's token) run a fixed, short list of
queries whatever the data, hash no password, and write no session.

The counts are the design: the token, its user, the user's roles and the device in one
query; the search in one; the ingest's session (locked) and its device in one (the device
token's scope is checked on it), the insert in one (it skips the readings stored already;
their values are read only when there are some, for a re-sent batch); the audit entry in
two on PostgreSQL (read the chain head, then lock, insert and move it in one statement,
audit migration 0005) and three on SQLite (lock and read the head, insert the sealed
entry, move the head). A change that adds a query per request (or per row) fails here
first, and must say why it is worth it."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.contrib.auth import hashers
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic import factories
from clinic.api_helpers import CLIENT, Api
from cryoderm.clinic.accounts import tokens
from cryoderm.clinic.audit.models import AuditEntry
from cryoderm.clinic.records.models import Client, SkinReading, TreatmentSession
from cryoderm.clinic.records.services import sessions as session_service

pytestmark = pytest.mark.django_db

#: BEGIN (SQLite's IMMEDIATE transaction is begun by a statement of its own) and COMMIT are
#: counted where the database driver sends them as statements.
TRANSACTION_STATEMENTS = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")


def audit_statements() -> int:
    return 2 if connection.vendor == "postgresql" else 3


def statements(captured: CaptureQueriesContext) -> list[str]:
    """The queries a request ran (their first 200 characters), transaction control left out
    (it differs by database)."""
    return [
        query["sql"][:200]
        for query in captured.captured_queries
        if not query["sql"].lstrip().upper().startswith(TRANSACTION_STATEMENTS)
    ]


@pytest.fixture
def staff_api(alice: Any) -> Api:
    return Api(token=tokens.issue("front desk script", user=alice).plaintext)


@pytest.fixture
def running(alice: Any) -> TreatmentSession:
    return session_service.start(alice, factories.ready_session(alice).pk)


def register_clients(count: int) -> None:
    Client.objects.bulk_create(
        Client(**{**CLIENT, "given_name": f"Ada{n}", "email": f"ada{n}@example.org"})
        for n in range(count)
    )


def batch(start_s: float, count: int = 10) -> dict[str, Any]:
    return {
        "readings": [
            {
                "zone": "forehead",
                "sensor": "ir-1",
                "elapsed_s": start_s + n / 10,
                "skin_temp_c": 30.0,
            }
            for n in range(count)
        ]
    }


@pytest.mark.parametrize("found", [1, 40])
def test_a_client_search_is_a_few_queries_whatever_it_finds(staff_api: Api, found: int) -> None:
    register_clients(found)
    staff_api.get("/me")  # the token's first use records it (at most once a minute)
    with CaptureQueriesContext(connection) as captured:
        response = staff_api.get("/clients", q="ada")
    assert response.status_code == 200, response.content
    assert len(response.json()) == found
    ran = statements(captured)
    assert len(ran) == 2 + audit_statements(), "\n".join(ran)
    assert "django_session" not in " ".join(ran)
    assert AuditEntry.objects.filter(action="client.search").count() == 1


def test_a_search_by_name_does_not_read_every_phone_number(staff_api: Api) -> None:
    """A word without a digit is answered by the name and e-mail prefix indexes; only a
    word with a digit is looked for inside phone numbers."""
    register_clients(3)
    with CaptureQueriesContext(connection) as by_name:
        assert len(staff_api.get("/clients", q="ada").json()) == 3
    search = next(
        query["sql"] for query in by_name.captured_queries if "records_client" in query["sql"]
    )
    assert "phone" not in search.split(" FROM ")[1]
    assert [c["email"] for c in staff_api.get("/clients", q="7946").json()] == [
        "ada0@example.org",
        "ada1@example.org",
        "ada2@example.org",
    ]
    assert staff_api.get("/clients", q="ada 0000").json()[0]["phone"] == CLIENT["phone"]
    assert staff_api.get("/clients", q="ada 1234").json() == []


# 150 readings are one INSERT on SQLite too (900 parameters, within its limit of 999).
@pytest.mark.parametrize("size", [1, 10, 150])
def test_a_reading_batch_is_a_few_queries_whatever_its_size(
    alice: Any, running: TreatmentSession, size: int
) -> None:
    device = Api(token=tokens.issue("sensor", user=alice, device=running.device).plaintext)
    device.post(f"/sessions/{running.pk}/readings", batch(0.0, 1))  # the token's first use
    with CaptureQueriesContext(connection) as captured:
        response = device.post(f"/sessions/{running.pk}/readings", batch(1.0, size))
    assert response.status_code == 200, response.content
    assert response.json() == {"accepted": size, "duplicates": 0}
    ran = statements(captured)
    # token, session with its device (locked), insert, and the audit entry's statements.
    assert len(ran) == 3 + audit_statements(), "\n".join(ran)
    assert "django_session" not in " ".join(ran)
    assert SkinReading.objects.filter(session=running).count() == size + 1


def test_a_resent_batch_reads_the_stored_values_in_one_more_query(
    alice: Any, running: TreatmentSession
) -> None:
    device = Api(token=tokens.issue("sensor", user=alice, device=running.device).plaintext)
    device.post(f"/sessions/{running.pk}/readings", batch(0.0, 5))
    with CaptureQueriesContext(connection) as captured:
        response = device.post(f"/sessions/{running.pk}/readings", batch(0.0, 10))
    assert response.json() == {"accepted": 5, "duplicates": 5}
    ran = statements(captured)
    # token, session (locked), insert of the new ones, the stored values of the others, audit.
    assert len(ran) == 4 + audit_statements(), "\n".join(ran)
    assert SkinReading.objects.filter(session=running).count() == 10


def test_token_requests_hash_no_password(
    alice: Any, running: TreatmentSession, staff_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tokens are 256 random bits compared by SHA-256 (accounts.tokens); a password hash
    (Argon2id, tens of milliseconds by design) on every request would cap the server at a
    few dozen requests a second."""
    device = Api(token=tokens.issue("sensor", user=alice, device=running.device).plaintext)
    hashed: list[str] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        hashed.append("password hash")
        raise AssertionError("a token request hashed a password")

    for hasher in (hashers.Argon2PasswordHasher, hashers.PBKDF2PasswordHasher):
        monkeypatch.setattr(hasher, "verify", refuse)
        monkeypatch.setattr(hasher, "encode", refuse)
    register_clients(2)
    started = time.thread_time()
    for n in range(20):
        assert staff_api.get("/clients", q="ada").status_code == 200
        assert device.post(f"/sessions/{running.pk}/readings", batch(n)).status_code == 200
    assert hashed == []
    # Generous: 40 requests in-process take well under 0.5 s of CPU on a loaded machine; a
    # single Argon2 verification each would take more.
    assert time.thread_time() - started < 4.0


def test_a_wrong_token_is_refused_by_the_same_single_query(staff_api: Api, alice: Any) -> None:
    real = tokens.issue("script", user=alice).plaintext
    assert Api(token=real).get("/me").status_code == 200
    prefix = real.split("_")[1]
    with CaptureQueriesContext(connection) as captured:
        response = Api(token=f"cdt_{prefix}_{'x' * 43}").get("/clients", q="ada")
    assert response.status_code == 401
    assert len(statements(captured)) == 1
