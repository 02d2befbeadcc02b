"""/api/devices: register, list, read with due dates, maintenance and calibration records."""

from __future__ import annotations

import datetime as dt

import pytest

from clinic.api_helpers import Api, actions_audited, director
from cryoderm.clinic.accounts.permissions import ADMIN, grant_role
from cryoderm.clinic.records.models import CalibrationRecord, Device, MaintenanceRecord

pytestmark = pytest.mark.django_db

TODAY = dt.date.today()
DEVICE = {
    "modality": "cold-air",
    "manufacturer": "Example Cryo",
    "model_name": "Chiller 2",
    "serial_number": "SN-1000",
    "commissioned_on": (TODAY - dt.timedelta(days=30)).isoformat(),
    "calibration_interval_days": 180,
    "service_interval_days": 365,
}


@pytest.fixture
def dora():
    return director()


def test_the_director_registers_a_device_and_everyone_on_staff_sees_it(dora, alice, bob) -> None:
    response = Api(dora).post("/devices", DEVICE)
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "in-service"
    assert body["calibration_due_on"] is None
    assert body["service_due_on"] == (TODAY + dt.timedelta(days=335)).isoformat()
    for user in (alice, bob):
        assert [d["serial_number"] for d in Api(user).get("/devices").json()] == ["SN-1000"]
    assert Api(alice).get(f"/devices/{body['id']}").json()["model_name"] == "Chiller 2"


def test_a_calibration_sets_the_next_due_date(dora) -> None:
    device_id = Api(dora).post("/devices", DEVICE).json()["id"]
    done = (TODAY - dt.timedelta(days=10)).isoformat()
    response = Api(dora).post(
        f"/devices/{device_id}/calibrations",
        {
            "performed_on": done,
            "performed_by": "Metrology Ltd",
            "reference_instrument": "PT100 probe",
            "max_error_c": 0.2,
            "passed": True,
        },
    )
    assert response.status_code == 201
    due = Api(dora).get(f"/devices/{device_id}").json()["calibration_due_on"]
    assert due == (TODAY + dt.timedelta(days=170)).isoformat()
    assert actions_audited()[-1] == "device.calibrate"


def test_maintenance_is_recorded(dora) -> None:
    device_id = Api(dora).post("/devices", DEVICE).json()["id"]
    response = Api(dora).post(
        f"/devices/{device_id}/maintenance",
        {"kind": "service", "performed_on": TODAY.isoformat(), "performed_by": "Example Cryo"},
    )
    assert response.status_code == 201
    assert MaintenanceRecord.objects.get().kind == "service"
    assert (
        Api(dora).get(f"/devices/{device_id}").json()["service_due_on"]
        == (TODAY + dt.timedelta(days=365)).isoformat()
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"modality": "laser"}, "modality"),
        ({"calibration_interval_days": 0}, "calibration_interval_days"),
        ({"serial_number": ""}, "serial_number"),
        ({"commissioned_on": "yesterday"}, "commissioned_on"),
    ],
)
def test_bad_device_input_is_refused_with_its_field(dora, change, field) -> None:
    response = Api(dora).post("/devices", {**DEVICE, **change})
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert not Device.objects.exists()


def test_a_duplicate_serial_number_is_refused_with_its_field(dora) -> None:
    Api(dora).post("/devices", DEVICE)
    response = Api(dora).post("/devices", DEVICE)
    assert response.status_code == 422
    assert response.json()["field"] == "serial_number"
    assert Device.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"max_error_c": -0.1}, "max_error_c"),
        ({"max_error_c": "NaN"}, "max_error_c"),
        ({"passed": "maybe"}, "passed"),
    ],
)
def test_bad_calibrations_are_refused_and_not_stored(dora, change, field) -> None:
    device_id = Api(dora).post("/devices", DEVICE).json()["id"]
    body = {
        "performed_on": TODAY.isoformat(),
        "performed_by": "M",
        "reference_instrument": "R",
        "max_error_c": 0.1,
        "passed": True,
        **change,
    }
    response = Api(dora).post(f"/devices/{device_id}/calibrations", body)
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert not CalibrationRecord.objects.exists()


def test_practitioners_and_front_desk_may_not_register_or_maintain(dora, alice, bob) -> None:
    device_id = Api(dora).post("/devices", DEVICE).json()["id"]
    for user in (alice, bob):
        assert Api(user).post("/devices", {**DEVICE, "serial_number": "X"}).status_code == 403
        body = {"kind": "repair", "performed_on": TODAY.isoformat(), "performed_by": "me"}
        assert Api(user).post(f"/devices/{device_id}/maintenance", body).status_code == 403


def test_the_administrator_manages_devices(charlie) -> None:
    grant_role(charlie, ADMIN)
    assert Api(charlie).post("/devices", DEVICE).status_code == 201


def test_an_unknown_device_is_404(alice) -> None:
    assert Api(alice).get("/devices/31337").status_code == 404
