"""A FHIR export of a large record never blocks anyone else.

The export of a client with 20,000 readings used to run inside one write transaction: on
SQLite it held the write lock for its whole duration and every audited read and every write
meanwhile failed with "database is locked" (a session stop included). Against the real
``cryoderm serve``: while the export streams, an audited read, a search and a registration
are each answered within seconds, and the export still arrives whole.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .processes import manage, migrate, serve, user_token

pytestmark = pytest.mark.slow

READINGS = 20_000

SEED = f"""
import datetime as dt
from django.utils import timezone
from django.contrib.auth import get_user_model
from cryoderm.clinic.records.models import (
    Client, Device, Practitioner, SkinReading, TreatmentSession)
user = get_user_model().objects.get(username="dana")
practitioner = Practitioner.objects.create(user=user, display_name="Dana Reyes")
device = Device.objects.create(
    modality="cold-air", manufacturer="Example", model_name="Chiller",
    serial_number="EX-1", commissioned_on=dt.date(2026, 1, 5),
    calibration_interval_days=365, service_interval_days=365)
client = Client.objects.create(
    given_name="Grace", family_name="Hopper", date_of_birth=dt.date(1976, 12, 9))
start = timezone.now() - dt.timedelta(days=1)
session = TreatmentSession.objects.create(
    client=client, practitioner=practitioner, device=device, zones=["forehead"],
    status="completed", started_at=start, ended_at=start + dt.timedelta(hours=1))
SkinReading.objects.bulk_create(
    [SkinReading(session=session, zone="forehead", sensor="ir-1",
                 recorded_at=start + dt.timedelta(seconds=i / 10), elapsed_s=i / 10,
                 skin_temp_c=30.0 - i * 1e-4) for i in range({READINGS})],
    batch_size=5000)
print(client.pk)
"""


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data_dir: Path = tmp_path_factory.mktemp("clinic")
    migrate(data_dir)
    token = user_token(data_dir)
    client_id = int(manage(data_dir, "shell", "-c", SEED).splitlines()[-1])
    with serve(data_dir) as server:
        yield {"server": server, "token": token, "client_id": client_id}


def call(clinic: dict[str, Any], path: str, body: Any = None, timeout_s: float = 30.0) -> Any:
    request = urllib.request.Request(
        clinic["server"].base_url + path,
        data=None if body is None else json.dumps(body).encode(),
        headers={
            "Authorization": f"Bearer {clinic['token']}",
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        return response.status, response.read()


def test_reads_and_writes_are_answered_while_a_large_export_runs(clinic) -> None:
    exported: dict[str, Any] = {}

    def export() -> None:
        started = time.monotonic()
        exported["answer"] = call(clinic, f"/api/clients/{clinic['client_id']}/fhir", timeout_s=600)
        exported["s"] = time.monotonic() - started

    exporter = threading.Thread(target=export)
    exporter.start()
    time.sleep(1.0)  # the export is under way
    timings = {}
    for name, path, body in [
        ("audited read", f"/api/clients/{clinic['client_id']}", None),
        ("search", "/api/clients?q=Hop", None),
        (
            "registration",
            "/api/clients",
            {"given_name": "Ada", "family_name": "Byron", "date_of_birth": "1985-12-10"},
        ),
    ]:
        started = time.monotonic()
        status, _ = call(clinic, path, body, timeout_s=60)
        timings[name] = time.monotonic() - started
        assert status in (200, 201), name
    still_exporting = exporter.is_alive()
    exporter.join(600)
    assert all(seconds < 3.0 for seconds in timings.values()), timings
    assert still_exporting, "the export ended before the other requests: nothing was shown"
    status, body = exported["answer"]
    assert status == 200
    bundle = json.loads(body)
    assert bundle["resourceType"] == "Bundle"
    assert bundle["entry"][0]["resource"]["resourceType"] == "Patient"
    kinds = [entry["resource"]["resourceType"] for entry in bundle["entry"]]
    assert kinds.count("Observation") == READINGS
