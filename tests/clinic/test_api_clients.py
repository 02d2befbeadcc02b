"""/api/clients: search, register, read, change; bad input names its field; refusals."""

from __future__ import annotations

import datetime as dt

import pytest

from clinic.api_helpers import CLIENT, Api, actions_audited
from cryoderm.clinic.accounts.permissions import ADMIN, grant_role
from cryoderm.clinic.records.models import Client

pytestmark = pytest.mark.django_db


def test_a_practitioner_registers_a_client_and_the_creation_is_audited(alice) -> None:
    response = Api(alice).post("/clients", CLIENT)
    assert response.status_code == 201
    body = response.json()
    assert body["family_name"] == "Lovelace"
    assert body["date_of_birth"] == "1985-12-10"
    assert Client.objects.get().pk == body["id"]
    assert actions_audited() == ["client.create"]


def test_front_desk_registers_and_finds_clients(bob) -> None:
    api = Api(bob)
    api.post("/clients", CLIENT)
    grace = {"given_name": "Grace", "family_name": "Hopper", "email": "grace@example.org"}
    api.post("/clients", {**CLIENT, **grace, "phone": "+1 202 555 0100"})
    found = api.get("/clients", q="hop")
    assert found.status_code == 200
    assert [c["family_name"] for c in found.json()] == ["Hopper"]
    assert [c["family_name"] for c in api.get("/clients").json()] == ["Hopper", "Lovelace"]
    assert actions_audited()[-1] == "client.search"


def test_a_search_answers_each_client_as_reading_it_does(alice) -> None:
    """The search's answer is ClientOut, field for field and in its order, as GET
    /clients/{id} (validated by its schema) shows the same client: dates, times (to the
    millisecond, in UTC), a missing phototype and the flags alike."""
    api = Api(alice)
    api.post("/clients", CLIENT)
    ann = {"given_name": "Ann", "email": "", "fitzpatrick_type": None, "confirm_new_person": True}
    assert api.post("/clients", {**CLIENT, **ann}).status_code == 201
    Client.objects.filter(given_name="Ann").update(
        notes='line\nbreak, ü and "quotes"',
        created_at=dt.datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=dt.UTC),
    )
    found = api.get("/clients", q="lovelace")
    assert found.status_code == 200
    assert found["Content-Type"] == "application/json; charset=utf-8"
    rows = found.json()
    assert [row["given_name"] for row in rows] == ["Ada", "Ann"]
    assert rows[1]["created_at"] == "2024-02-29T23:59:58.123Z"
    for row in rows:
        shown = api.get(f"/clients/{row['id']}").json()
        del shown["possible_duplicates"]
        assert list(row.items()) == list(shown.items())
    assert api.get("/clients", q="nobody").json() == []


def test_reading_a_client_is_audited(alice) -> None:
    api = Api(alice)
    client_id = api.post("/clients", CLIENT).json()["id"]
    response = api.get(f"/clients/{client_id}")
    assert response.status_code == 200
    assert response.json()["email"] == "ada@example.org"
    assert actions_audited() == ["client.create", "client.read"]


def test_changing_a_client_changes_only_the_fields_sent(alice) -> None:
    api = Api(alice)
    client_id = api.post("/clients", CLIENT).json()["id"]
    response = api.patch(
        f"/clients/{client_id}", {"phone": "+44 20 7946 0999", "reason": "new number"}
    )
    assert response.status_code == 200
    assert response.json()["phone"] == "+44 20 7946 0999"
    assert response.json()["given_name"] == "Ada"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"family_name": None}, "family_name", "Field required"),
        ({"family_name": ""}, "family_name", "at least 1 character"),
        ({"date_of_birth": "1985-13-40"}, "date_of_birth", "date"),
        ({"fitzpatrick_type": 7}, "fitzpatrick_type", "less than or equal to 6"),
        ({"sex": "robot"}, "sex", "'female', 'male', 'other' or 'unknown'"),
        ({"notes": "a\x00b"}, "notes", "NUL"),
        ({"email": "not an e-mail"}, "email", "valid email"),
    ],
)
def test_bad_input_is_refused_with_its_field_and_nothing_is_written(
    alice, change, field, message
) -> None:
    body = {**CLIENT, **change}
    body = {k: v for k, v in body.items() if v is not None}
    response = Api(alice).post("/clients", body)
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert message in response.json()["detail"]
    assert not Client.objects.exists()
    assert actions_audited() == []


def test_a_bad_change_leaves_the_client_as_it_was(alice) -> None:
    api = Api(alice)
    client_id = api.post("/clients", CLIENT).json()["id"]
    response = api.patch(
        f"/clients/{client_id}", {"phone": "+1", "given_name": "", "reason": "typo"}
    )
    assert response.status_code == 422
    assert response.json()["field"] == "given_name"
    assert Client.objects.get().phone == CLIENT["phone"]


def test_search_limits_are_checked(alice) -> None:
    response = Api(alice).get("/clients", limit=0)
    assert response.status_code == 422
    assert response.json()["field"] == "limit"


@pytest.mark.parametrize("path", ["/clients/999", "/clients/9223372036854775807"])
def test_an_unknown_client_is_404_with_a_sentence(alice, path) -> None:
    response = Api(alice).get(path)
    assert response.status_code == 404
    assert response.json()["detail"].startswith("no client with id")


def test_an_id_beyond_the_database_range_is_bad_input_not_a_crash(alice) -> None:
    response = Api(alice).get("/clients/9223372036854775808")
    assert response.status_code == 422
    assert response.json()["field"] == "client_id"


def test_an_outsider_is_refused_and_told_why(charlie) -> None:
    response = Api(charlie).get("/clients")
    assert response.status_code == 403
    assert response.json()["detail"] == (
        "charlie may not client.view (roles held: no clinic role); "
        "ask the clinic's administrator for a role that allows it"
    )
    assert Api(charlie).post("/clients", CLIENT).status_code == 403
    assert not Client.objects.exists()


def test_the_system_administrator_does_not_read_client_records(charlie) -> None:
    grant_role(charlie, ADMIN)
    assert Api(charlie).get("/clients").status_code == 403


def test_without_signing_in_the_api_answers_401(db) -> None:
    response = Api().get("/clients")
    assert response.status_code == 401
    assert response.json() == {
        "detail": "sign in, or send 'Authorization: Bearer <token>'",
        "field": None,
    }


def test_an_unexpected_failure_is_a_500_with_a_reference_and_no_traceback(
    alice, monkeypatch, caplog
) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("cryoderm.clinic.api.clients.client_service.search_values", broken)
    response = Api(alice).get("/clients")
    assert response.status_code == 500
    body = response.json()
    assert body["detail"].startswith("something went wrong (ref ")
    assert "secret internals" not in body["detail"]
    reference = body["detail"].split("ref ")[1].split(")")[0]
    assert reference in caplog.text
