"""Clients and staff records: validation names the field; searching is by name prefix,
e-mail or phone; a qualification must expire after it is issued."""

from __future__ import annotations

import datetime as dt

import pytest

from cryoderm.clinic.records.errors import InvalidRecord, RecordNotFound
from cryoderm.clinic.records.services import clients, staff

from . import factories


def test_a_client_is_registered_and_changed(alice) -> None:
    client = factories.make_client(alice, email="dana@example.org")
    changed = clients.update(alice, client.pk, phone="+44 20 7946 0001", reason="new number")
    assert (changed.full_name, changed.phone) == ("Dana Doe", "+44 20 7946 0001")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"email": "not an address"}, "email"),
        ({"fitzpatrick_type": 7}, "fitzpatrick_type"),
        ({"given_name": ""}, "given_name"),
        ({"shoe_size": 42}, "shoe_size"),
    ],
)
def test_bad_client_fields_are_named(alice, fields, field) -> None:
    with pytest.raises(InvalidRecord) as caught:
        factories.make_client(alice, **fields)
    assert caught.value.field == field


def test_search_matches_every_term_by_prefix(alice) -> None:
    factories.make_client(alice, given_name="Ada", family_name="Byron")
    factories.make_client(alice, given_name="Ada", family_name="King")
    factories.make_client(alice, given_name="Bea", family_name="Byrne", phone="0790 123")
    assert [c.family_name for c in clients.search(alice, "byr")] == ["Byrne", "Byron"]
    assert [c.family_name for c in clients.search(alice, "ada byr")] == ["Byron"]
    assert [c.family_name for c in clients.search(alice, "0790")] == ["Byrne"]
    with pytest.raises(InvalidRecord, match="limit"):
        clients.search(alice, "a", limit=0)


def test_an_unknown_client_is_not_found(alice) -> None:
    with pytest.raises(RecordNotFound, match="no client with id 999"):
        clients.get(alice, 999)


def test_a_qualification_expires_after_it_is_issued(alice) -> None:
    today = dt.date.today()
    with pytest.raises(InvalidRecord, match="expires_on: must be after issued_on"):
        staff.add_qualification(
            factories.SYSTEM,
            alice.practitioner,
            modality="contact",
            title="Course",
            issuer="Academy",
            issued_on=today,
            expires_on=today,
        )
