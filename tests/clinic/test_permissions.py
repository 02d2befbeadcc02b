"""The permission matrix, as a specification: role x action -> allowed?

Every cell of the table below is checked against :mod:`cryoderm.clinic.accounts.permissions`,
then the rules that make it safe (deny wins, unknown denies, superuser grants nothing), then
the same rules through real users with the personas: alice (a practitioner), bob (a colleague
in another role: front desk) and charlie (an outsider with no role); last, every API endpoint
against a user of each role."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from cryoderm.clinic.accounts import permissions
from cryoderm.clinic.accounts.errors import PermissionRefused
from cryoderm.clinic.accounts.permissions import (
    ADMIN,
    FRONT_DESK,
    MEDICAL_DIRECTOR,
    PRACTITIONER,
    decide,
)

# A = allowed, - = refused. Columns: admin, medical director, practitioner, front desk.
EXPECTED = """
client.view        - A A A
client.create      - A A A
client.update      - A A A
client.export_fhir - A A -
screening.view     - A A -
screening.submit   - A A -
override.sign      - A A -
consent.record     - A A A
consent.withdraw   - A A -
consent.publish    - A - -
appointment.book   - A A A
plan.create        - A A -
session.view       - A A -
session.create     - A A -
session.start      - A A -
session.stop       - A A -
reading.view       - A A -
outcome.view       - A A -
outcome.record     - A A -
device.view        A A A A
device.manage      A A - -
device.maintain    A A - -
device.report_fault A A A A
staff.manage       A A - -
policy.manage      - A - -
token.manage       A A - -
audit.export       - A - -
"""
COLUMNS = (ADMIN, MEDICAL_DIRECTOR, PRACTITIONER, FRONT_DESK)
CELLS = [
    (action, role, mark == "A")
    for action, *marks in (line.split() for line in EXPECTED.strip().splitlines())
    for role, mark in zip(COLUMNS, marks, strict=True)
]


def test_the_specification_covers_every_action_of_the_matrix() -> None:
    assert {action for action, _, _ in CELLS} == set(permissions.ACTIONS)
    assert set(permissions.MATRIX) == set(permissions.ACTIONS)


@pytest.mark.parametrize(("action", "role", "allowed"), CELLS)
def test_each_role_may_do_exactly_what_the_table_says(
    action: str, role: str, allowed: bool
) -> None:
    assert decide([role], action) is allowed


def test_a_deny_wins_over_an_allow_from_another_role() -> None:
    # front desk explicitly may not see screening; practitioner may: together, refused.
    assert decide([PRACTITIONER], "screening.view")
    assert permissions.MATRIX["screening.view"][FRONT_DESK] == permissions.DENY
    assert not decide([PRACTITIONER, FRONT_DESK], "screening.view")
    assert not decide([MEDICAL_DIRECTOR, ADMIN], "client.view")


def test_unknown_actions_roles_and_no_role_are_refused() -> None:
    assert not decide([MEDICAL_DIRECTOR], "client.delete")
    assert not decide(["superuser"], "client.view")
    assert not decide([], "device.view")


def test_device_ingest_is_not_a_user_permission() -> None:
    assert not any(decide([role], "reading.ingest") for role in COLUMNS)


@pytest.mark.django_db
class TestPersonas:
    def test_alice_the_practitioner_screens_and_treats(self, alice) -> None:
        assert permissions.roles_of(alice) == (PRACTITIONER,)
        for action in ("client.view", "screening.submit", "session.start", "outcome.record"):
            permissions.require(alice, action)

    def test_alice_may_not_export_the_audit_log(self, alice) -> None:
        with pytest.raises(PermissionRefused, match=r"alice may not audit\.export"):
            permissions.require(alice, "audit.export")

    def test_bob_at_the_front_desk_registers_clients_but_sees_no_screening(self, bob) -> None:
        assert permissions.roles_of(bob) == (FRONT_DESK,)
        permissions.require(bob, "client.create")
        with pytest.raises(PermissionRefused, match="roles held: front_desk"):
            permissions.require(bob, "screening.view")

    def test_charlie_the_outsider_may_do_nothing(self, charlie) -> None:
        assert permissions.roles_of(charlie) == ()
        for action in permissions.ACTIONS:
            assert not permissions.is_allowed(charlie, action)
        with pytest.raises(PermissionRefused, match="no clinic role"):
            permissions.require(charlie, "client.view")

    def test_a_superuser_without_a_role_gets_nothing(self, django_user_model) -> None:
        root = django_user_model.objects.create_superuser("root", password=None)
        assert not permissions.is_allowed(root, "client.view")

    def test_an_inactive_user_loses_every_role(self, alice) -> None:
        alice.is_active = False
        alice.save()
        alice.__dict__.pop("_cryoderm_roles", None)
        assert not permissions.is_allowed(alice, "client.view")

    def test_granting_a_second_role_can_only_add_its_denies(self, alice) -> None:
        permissions.grant_role(alice, FRONT_DESK)
        assert permissions.roles_of(alice) == (PRACTITIONER, FRONT_DESK)
        assert not permissions.is_allowed(alice, "screening.view")
        assert permissions.is_allowed(alice, "client.view")

    def test_an_unknown_role_name_is_refused(self, alice) -> None:
        with pytest.raises(ValueError, match="role = 'wizard'"):
            permissions.grant_role(alice, "wizard")


# Every endpoint, with a well-formed body, against ids that do not exist: a role the matrix
# allows gets past the permission check (404, or 200 for lists), a role it refuses gets 403.
TODAY = "2026-01-01"
ENDPOINTS = [
    ("get", "/api/clients", None, "client.view"),
    (
        "post",
        "/api/clients",
        {"given_name": "A", "family_name": "B", "date_of_birth": TODAY},
        "client.create",
    ),
    ("get", "/api/clients/999", None, "client.view"),
    ("patch", "/api/clients/999", {"phone": "1", "reason": "new number"}, "client.update"),
    ("get", "/api/clients/999/fhir", None, "client.export_fhir"),
    ("post", "/api/clients/999/screenings", {"answers": {}}, "screening.submit"),
    ("get", "/api/clients/999/screenings", None, "screening.view"),
    ("get", "/api/screenings/999", None, "screening.view"),
    (
        "post",
        "/api/screenings/999/signoffs",
        {"rule_id": "x", "reason": "y", "second_clinician": "z"},
        "override.sign",
    ),
    (
        "post",
        "/api/clients/999/consents",
        {"scope": "treatment", "signer_name": "A", "signature": "M0"},
        "consent.record",
    ),
    (
        "post",
        "/api/plans",
        {"goals": ["skin-tone"], "zones": ["cheek"], "modality": "cold-air", "client_id": 999},
        "plan.create",
    ),
    (
        "post",
        "/api/sessions",
        {"client_id": 999, "device_id": 999, "zones": ["cheek"], "practitioner_id": 999},
        "session.create",
    ),
    ("get", "/api/sessions/999", None, "session.view"),
    ("get", "/api/sessions/999/gates", None, "session.view"),
    ("post", "/api/sessions/999/start", None, "session.start"),
    ("post", "/api/sessions/999/stop", {"exposure_s": 1}, "session.stop"),
    ("get", "/api/sessions/999/readings", None, "reading.view"),
    (
        "post",
        "/api/clients/999/scores",
        {"rater": "client", "scale": "s", "score": 1},
        "outcome.record",
    ),
    (
        "post",
        "/api/clients/999/measures",
        {"quantity": "tewl", "value": 1, "unit": "g/m2/h", "zone": "cheek"},
        "outcome.record",
    ),
    ("get", "/api/clients/999/outcomes", None, "outcome.view"),
    ("get", "/api/clients/999/photos", None, "outcome.view"),
    ("get", "/api/photos/999", None, "outcome.view"),
    ("get", "/api/devices", None, "device.view"),
    (
        "post",
        "/api/devices",
        {
            "modality": "contact",
            "manufacturer": "M",
            "model_name": "N",
            "serial_number": "S",
            "commissioned_on": TODAY,
            "calibration_interval_days": 1,
            "service_interval_days": 1,
        },
        "device.manage",
    ),
    ("get", "/api/devices/999", None, "device.view"),
    (
        "post",
        "/api/devices/999/maintenance",
        {"kind": "repair", "performed_on": TODAY, "performed_by": "x"},
        "device.maintain",
    ),
    (
        "post",
        "/api/devices/999/calibrations",
        {
            "performed_on": TODAY,
            "performed_by": "x",
            "reference_instrument": "r",
            "max_error_c": 0,
            "passed": True,
        },
        "device.maintain",
    ),
    ("get", "/api/audit/export", None, "audit.export"),
]


def call(browser, method: str, path: str, body) -> int:
    if body is None:
        return getattr(browser, method)(path).status_code
    return getattr(browser, method)(path, body, content_type="application/json").status_code


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "body", "action"), ENDPOINTS)
def test_every_endpoint_answers_each_role_as_the_matrix_says(
    client, django_user_model, method, path, body, action
) -> None:
    assert call(client, method, path, body) == 401
    for role in COLUMNS:
        user = django_user_model.objects.create(username=f"{role}-user")
        permissions.grant_role(user, role)
        client.force_login(user)
        status = call(client, method, path, body)
        expected_refusal = not decide([role], action)
        assert (status == 403) is expected_refusal, f"{role} {method} {path} -> {status}"
        assert status < 500
        client.logout()


@pytest.mark.django_db
def test_a_role_is_granted_with_a_command(charlie, capsys) -> None:
    call_command("grant_role", "charlie", FRONT_DESK)
    assert "charlie now holds: front_desk" in capsys.readouterr().out
    charlie.__dict__.pop("_cryoderm_roles", None)
    assert permissions.roles_of(charlie) == (FRONT_DESK,)
