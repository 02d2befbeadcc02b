"""/api/audit/export: the medical director alone exports; the export is itself audited."""

from __future__ import annotations

import pytest

from clinic import factories
from clinic.api_helpers import Api, director
from cryoderm.clinic.accounts.permissions import ADMIN, grant_role
from cryoderm.clinic.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_the_director_exports_the_chain_with_its_hashes(alice) -> None:
    factories.make_client(alice)
    dora = director()
    response = Api(dora).get("/audit/export")
    assert response.status_code == 200
    body = response.json()
    actions = [e["action"] for e in body["entries"]]
    # The personas' roles are in the log too: a role is a privilege given.
    assert actions == ["staff.grant_role", "client.create", "staff.grant_role", "audit.export"]
    assert body["count"] == 4
    first, second = body["entries"][-2:]
    assert second["prev_hash"] == first["entry_hash"]
    assert second["actor"] == f"user:{dora.pk}:dora"


def test_an_export_since_a_sequence_number_returns_only_newer_entries(alice) -> None:
    first = factories.make_client(alice)
    factories.make_client(alice, given_name="Eve")
    dora = director()
    since = AuditEntry.objects.get(action="client.create", target__endswith=f":{first.pk}").seq
    response = Api(dora).get("/audit/export", since_seq=since)
    actions = [e["action"] for e in response.json()["entries"]]
    assert actions == ["client.create", "staff.grant_role", "audit.export"]
    assert [e["seq"] for e in response.json()["entries"]] == [since + 1, since + 2, since + 3]


@pytest.mark.parametrize("since", [-1, "x"])
def test_a_bad_starting_point_is_refused(since) -> None:
    response = Api(director()).get("/audit/export", since_seq=since)
    assert response.status_code == 422
    assert response.json()["field"] == "since_seq"


def test_nobody_but_the_director_exports(alice, bob, charlie) -> None:
    grant_role(charlie, ADMIN)
    for user in (alice, bob, charlie):
        response = Api(user).get("/audit/export")
        assert response.status_code == 403
        assert "may not audit.export" in response.json()["detail"]
